#include "image/jpeg.h"

#include <turbojpeg.h>

#include <algorithm>
#include <climits>
#include <new>
#include <vector>

#include "common/error.h"

namespace cg::image {
namespace {

// Owns a TurboJPEG decompressor.
class Decompressor {
 public:
  Decompressor() : handle_(tjInitDecompress()) {
    if (handle_ == nullptr) throw std::bad_alloc();
  }
  ~Decompressor() { tjDestroy(handle_); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  tjhandle get() const { return handle_; }
  /// The reason of the last failure on this handle (thread-safe, unlike tjGetErrorStr()).
  const char* error() const { return tjGetErrorStr2(handle_); }

 private:
  tjhandle handle_;
};

}  // namespace

bool is_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels) {
  CG_REQUIRE(size <= ULONG_MAX, FileError, "cannot decode image ", name, ": ", size,
             " bytes, more than libjpeg-turbo reads");
  Decompressor decompressor;
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  CG_REQUIRE(tjDecompressHeader3(decompressor.get(), data, static_cast<unsigned long>(size), &width,
                                 &height, &subsampling, &colorspace) == 0,
             FileError, "cannot decode image ", name,
             ": corrupt or truncated JPEG header (libjpeg-turbo: ", decompressor.error(), ")");
  // libjpeg-turbo can end a header cut short without an error, and without a size.
  CG_REQUIRE(width > 0 && height > 0, FileError, "cannot decode image ", name,
             ": corrupt or truncated JPEG header (no frame header before the end of the data)");
  const int64_t limit = std::min(max_pixels, kMaxImagePixels);
  CG_REQUIRE(width <= kMaxImageSide && height <= kMaxImageSide && int64_t{width} * height <= limit,
             FileError, "cannot decode image ", name, ": ", width, "x", height,
             " pixels is larger than the limit of ", kMaxImageSide, " a side and ", limit,
             " in all");

  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int file_channels = colorspace == TJCS_GRAY ? 1 : cmyk ? 4 : 3;
  const int format = colorspace == TJCS_GRAY ? TJPF_GRAY : cmyk ? TJPF_CMYK : TJPF_RGB;
  std::vector<uint8_t> pixels(size_t{1} * width * height * file_channels);
  // Warnings stop decoding: libjpeg would otherwise fill a cut-off image with gray and
  // report success.
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  CG_REQUIRE(tjDecompress2(decompressor.get(), data, static_cast<unsigned long>(size),
                           pixels.data(), width, 0, height, format, flags) == 0,
             FileError, "cannot decode image ", name,
             ": corrupt or truncated JPEG data (libjpeg-turbo: ", decompressor.error(), ")");
  if (!cmyk) return Image{height, width, file_channels, std::move(pixels)};

  // Adobe CMYK is stored inverted (255 = no ink): R = (255 - C) (255 - K) / 255 on the ink
  // amounts is c * k / 255 on the stored values; libjpeg-turbo has already turned YCCK into
  // stored CMYK.
  Image rgb{height, width, 3, std::vector<uint8_t>(size_t{1} * width * height * 3)};
  const uint8_t* in = pixels.data();
  uint8_t* out = rgb.pixels.data();
  for (size_t i = 0, n = size_t{1} * width * height; i < n; ++i, in += 4, out += 3) {
    for (int c = 0; c < 3; ++c) out[c] = static_cast<uint8_t>((in[c] * in[3] + 127) / 255);
  }
  return rgb;
}

}  // namespace cg::image
