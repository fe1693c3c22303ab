// fuzz-sources: src/image/image.cpp src/image/color.cpp src/image/resize.cpp src/image/jpeg.cpp src/image/png.cpp src/image/image_file.cpp src/common/file_util.cpp
// fuzz-flags: -lturbojpeg -lpng -lz
// fuzz-seeds: build-fuzz/image_fuzz --write-seeds
// libFuzzer target: any bytes through decode_image_memory (libjpeg-turbo, libpng); a decoded
// image then goes through to_channels, resize and crop at sizes taken from the input's first
// bytes. Only cg::Error may come out of decoding, and what succeeds must be a valid image of
// the promised shape. Run by scripts/fuzz; `image_fuzz --write-seeds DIR` writes small PNGs
// (encode_png's) and JPEGs (libjpeg-turbo's: 4:2:0, 4:4:4, progressive, CMYK, and a
// hand-made one-component one) to start from.
#include <turbojpeg.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "image/color.h"
#include "image/image_file.h"
#include "image/png.h"
#include "image/resize.h"

namespace {

// decode_image_memory allows 2^28 pixels by default, which needs more memory than
// libFuzzer's 2 GB RSS limit and seconds per input.
constexpr int64_t kFuzzMaxPixels = int64_t{1} << 20;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "image_fuzz: broken invariant: %s\n", what);
    std::abort();
  }
}

bool valid(const cg::image::Image& image, int64_t height, int64_t width, int64_t channels) {
  return image.height == height && image.width == width && image.channels == channels &&
         image.pixels.size() == static_cast<size_t>(height * width * channels);
}

std::string jpeg(const std::vector<uint8_t>& pixels, int format, int subsampling, int flags) {
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  std::string bytes;
  if (handle != nullptr && tjCompress2(handle, pixels.data(), 16, 0, 12, format, &out, &size,
                                       subsampling, 75, flags) == 0) {
    bytes.assign(reinterpret_cast<const char*>(out), size);
  }
  tjFree(out);
  if (handle != nullptr) tjDestroy(handle);
  return bytes;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

int write_seeds(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> seeds;
  std::vector<uint8_t> pixels(16 * 12 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 + i / 64);
  for (int channels : {1, 3}) {
    const std::vector<uint8_t> image(pixels.begin(), pixels.begin() + 16 * 12 * channels);
    seeds.emplace_back("c" + std::to_string(channels) + ".png",
                       cg::image::encode_png(cg::image::Image{12, 16, channels, image}));
  }
  seeds.emplace_back("420.jpg", jpeg(pixels, TJPF_RGBX, TJSAMP_420, 0));
  seeds.emplace_back("444.jpg", jpeg(pixels, TJPF_RGBX, TJSAMP_444, 0));
  seeds.emplace_back("progressive.jpg", jpeg(pixels, TJPF_RGBX, TJSAMP_420, TJFLAG_PROGRESSIVE));
  seeds.emplace_back("cmyk.jpg", jpeg(pixels, TJPF_CMYK, TJSAMP_444, 0));
  // 16x8 gray, two flat blocks: DQT of 8s, SOF0 with one component, a DC table of 12 codes
  // of 4 bits, an AC table of just end-of-block, SOS, the coded blocks, EOI.
  std::string gray = bytes({0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x00}) + std::string(64, 8);
  gray += bytes({0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x08, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00});
  gray += bytes({0xff, 0xc4, 0x00, 0x1f, 0x00, 0, 0, 0, 12}) + std::string(12, 0);
  gray += bytes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  gray += bytes({0xff, 0xc4, 0x00, 0x14, 0x10, 1}) + std::string(16, 0);
  gray += bytes({0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00});
  gray += bytes({0x73, 0xa8, 0xaa, 0x7f, 0xff, 0xd9});
  seeds.emplace_back("gray.jpg", gray);
  for (const auto& [name, bytes] : seeds) {
    const std::string path = dir + "/" + name;
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() ||
        std::fclose(file) != 0) {
      std::fprintf(stderr, "image_fuzz: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (*argc == 3 && std::strcmp((*argv)[1], "--write-seeds") == 0) {
    std::exit(write_seeds((*argv)[2]));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cg::image;
  Image image;
  try {
    image = decode_image_memory(data, size, "fuzz input", kFuzzMaxPixels);
  } catch (const cg::Error&) {
    return 0;
  }
  const int64_t h = image.height, w = image.width;
  require(h > 0 && w > 0 && h * w <= kFuzzMaxPixels, "a size within the limit");
  require(image.channels == 1 || image.channels == 3, "1 or 3 channels");
  require(valid(image, h, w, image.channels), "height * width * channels bytes");

  const int64_t other = image.channels == 1 ? 3 : 1;
  const Image converted = to_channels(image, other);
  require(valid(converted, h, w, other), "to_channels shape");
  require(to_channels(converted, image.channels).channels == image.channels, "round trip");

  const int64_t out_h = 1 + (size > 0 ? data[0] % 48 : 0);
  const int64_t out_w = 1 + (size > 1 ? data[1] % 48 : 0);
  const Image resized = resize(converted, out_h, out_w);
  require(valid(resized, out_h, out_w, other), "resize shape");

  const int64_t top = size > 2 ? data[2] % out_h : 0;
  const int64_t left = size > 3 ? data[3] % out_w : 0;
  const Image cropped = crop(resized, top, left, out_h - top, out_w - left);
  require(valid(cropped, out_h - top, out_w - left, other), "crop shape");
  return 0;
}
