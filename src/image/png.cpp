#include "image/png.h"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cg::image {
namespace {

// libpng reports errors through a callback that must not return: ours keeps the message and
// longjmps back to the setjmp of the function that called into libpng. Those functions hold
// only trivially destructible locals (C++ destructors do not run across a longjmp), so
// buffers are made by their callers.
struct PngContext {
  const uint8_t* data = nullptr;  // reading: the file's bytes
  size_t size = 0, offset = 0;
  std::string* out = nullptr;  // writing: the PNG being built
  char message[256] = "";      // the error that stopped libpng
  char idat_damage[256] = "";  // the first warning about the image data
};

PngContext& context_of(png_structp png) {
  return *static_cast<PngContext*>(png_get_error_ptr(png));
}

void on_error(png_structp png, png_const_charp message) {
  PngContext& context = context_of(png);
  std::snprintf(context.message, sizeof(context.message), "%s", message);
  png_longjmp(png, 1);
}

// Warnings about ancillary chunks (bad CRCs, odd colour profiles, misplaced metadata) do
// not stop decoding and are not shown: a data set build would print one per photograph.
// Damage to the image data (libpng's "benign errors" of IDAT, such as a zlib stream that
// holds more than the image) is kept and made an error by the caller.
void on_warning(png_structp png, png_const_charp message) {
  PngContext& context = context_of(png);
  if (context.idat_damage[0] == '\0' && std::strncmp(message, "IDAT", 4) == 0) {
    std::snprintf(context.idat_damage, sizeof(context.idat_damage), "%s", message);
  }
}

// Width and height from the IHDR chunk, which must come first: (0, 0) when it does not.
std::pair<int64_t, int64_t> ihdr_size(const uint8_t* data, size_t size) {
  if (size < 24 || std::memcmp(data + 12, "IHDR", 4) != 0) return {0, 0};
  auto be32 = [data](size_t at) {
    return int64_t{data[at]} << 24 | int64_t{data[at + 1]} << 16 | int64_t{data[at + 2]} << 8 |
           int64_t{data[at + 3]};
  };
  return {be32(16), be32(20)};
}

void check_size(int64_t width, int64_t height, int64_t max_pixels, const std::string& name) {
  const int64_t limit = std::min(max_pixels, kMaxImagePixels);
  CG_REQUIRE(width <= kMaxImageSide && height <= kMaxImageSide && width * height <= limit,
             FileError, "cannot decode image ", name, ": ", width, "x", height,
             " pixels is larger than the limit of ", kMaxImageSide, " a side and ", limit,
             " in all");
}

void on_read(png_structp png, png_bytep out, size_t length) {
  PngContext& context = context_of(png);
  if (length > context.size - context.offset) {
    png_error(png, "the data runs past the end of the file");
  }
  std::memcpy(out, context.data + context.offset, length);
  context.offset += length;
}

void on_write(png_structp png, png_bytep data, size_t length) {
  context_of(png).out->append(reinterpret_cast<const char*>(data), length);
}

void on_flush(png_structp) {}

// Owns a png_struct and its png_info.
class PngHandle {
 public:
  PngHandle(bool write, PngContext* context) : write_(write) {
    png_ = write ? png_create_write_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning)
                 : png_create_read_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
    if (png_ == nullptr || info_ == nullptr) {
      destroy();
      throw std::bad_alloc();
    }
  }
  ~PngHandle() { destroy(); }
  PngHandle(const PngHandle&) = delete;
  PngHandle& operator=(const PngHandle&) = delete;
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  void destroy() {
    if (write_) {
      png_destroy_write_struct(&png_, &info_);
    } else {
      png_destroy_read_struct(&png_, &info_, nullptr);
    }
  }
  bool write_;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

struct Header {
  png_uint_32 width = 0, height = 0;
  int channels = 0;
};

// Reads the chunks up to the image data and sets the transformations to 8-bit gray or RGB
// without alpha. False (the reason in the context) on a libpng error.
bool read_header(png_structp png, png_infop info, Header* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, png_get_error_ptr(png), on_read);
  // Sizes are judged by the caller, with its own message: libpng's limits only stop
  // numbers it cannot represent.
  png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info(png, info);
  const int color_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_strip_16(png);
  if ((color_type & PNG_COLOR_MASK_ALPHA) != 0 ||
      (color_type == PNG_COLOR_TYPE_PALETTE && png_get_valid(png, info, PNG_INFO_tRNS) != 0)) {
    png_set_strip_alpha(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->channels = png_get_channels(png, info);
  return true;
}

// Reads every row, then the chunks after the image data (finding a truncated stream or one
// that holds more than the image). False on a libpng error.
bool read_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

bool write_rows(png_structp png, png_infop info, png_uint_32 width, png_uint_32 height,
                int channels, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, png_get_error_ptr(png), on_write, on_flush);
  png_set_IHDR(png, info, width, height, 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

bool is_png(const uint8_t* data, size_t size) {
  return size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
}

Image decode_png(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels) {
  PngContext context;
  context.data = data;
  context.size = size;
  // The size in the header is judged before libpng reads on (it stops at a missing image
  // data chunk first).
  const auto [ihdr_width, ihdr_height] = ihdr_size(data, size);
  check_size(ihdr_width, ihdr_height, max_pixels, name);
  PngHandle handle(false, &context);
  // Colour profiles are not used, so their checks (and the errors they raise on the
  // miscalibrated sRGB profiles common in old photographs) are skipped.
  png_set_option(handle.png(), PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
  png_set_keep_unknown_chunks(handle.png(), PNG_HANDLE_CHUNK_NEVER,
                              reinterpret_cast<png_const_bytep>("iCCP\0sRGB\0"), 2);
  Header header;
  CG_REQUIRE(read_header(handle.png(), handle.info(), &header), FileError, "cannot decode image ",
             name, ": corrupt or truncated PNG header (libpng: ", context.message, ")");
  const int64_t width = header.width, height = header.height;
  check_size(width, height, max_pixels, name);
  // The transformations leave 8-bit gray or RGB; anything else is a bug here.
  if ((header.channels != 1 && header.channels != 3) ||
      png_get_rowbytes(handle.png(), handle.info()) !=
          static_cast<size_t>(width * header.channels)) {
    throw std::logic_error(detail::str_cat(
        "decode_png: ", name, " decodes to ", header.channels, " channels and rows of ",
        png_get_rowbytes(handle.png(), handle.info()), " bytes"));
  }

  Image image{height, width, header.channels,
              std::vector<uint8_t>(static_cast<size_t>(height * width * header.channels))};
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = image.pixels.data() + y * width * image.channels;
  CG_REQUIRE(read_rows(handle.png(), handle.info(), rows.data()), FileError, "cannot decode image ",
             name, ": corrupt or truncated PNG data (libpng: ", context.message, ")");
  CG_REQUIRE(context.idat_damage[0] == '\0', FileError, "cannot decode image ", name,
             ": corrupt PNG data (libpng: ", context.idat_damage, ")");
  return image;
}

std::string encode_png(const Image& image) {
  check_image(image, "encode_png");
  if (image.channels != 1 && image.channels != 3) {
    throw std::invalid_argument(
        detail::str_cat("encode_png expects 1 or 3 channels, got ", image.channels));
  }
  std::string png;
  PngContext context;
  context.out = &png;
  PngHandle handle(true, &context);
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  for (int64_t y = 0; y < image.height; ++y) {
    rows[y] = const_cast<png_bytep>(image.pixels.data() + y * image.width * image.channels);
  }
  CG_REQUIRE(write_rows(handle.png(), handle.info(), static_cast<png_uint_32>(image.width),
                        static_cast<png_uint_32>(image.height), static_cast<int>(image.channels),
                        rows.data()),
             Error, "PNG encoding of a ", image.height, "x", image.width, "x", image.channels,
             " image failed (libpng: ", context.message, ")");
  return png;
}

}  // namespace cg::image
