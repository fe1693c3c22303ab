#pragma once
// An 8-bit image in memory (the form files decode to and data sets store), the size limits
// every decoder applies, and cropping. Torch-free; every function may run on several
// threads at once.
#include <cstdint>
#include <vector>

namespace cg::image {

/// An 8-bit image, rows top to bottom, channels interleaved (HWC): 1 = gray, 3 = RGB.
/// Valid when height, width > 0, 1 <= channels <= 4 and
/// pixels.size() == height * width * channels; pixel (y, x) channel c is at
/// pixels[(y * width + x) * channels + c].
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

/// Largest width or height a decoder accepts and resize produces.
constexpr int64_t kMaxImageSide = 30000;
/// Largest width * height a decoder accepts (268 Mpx; about 0.8 GB as RGB).
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

/// Throws std::invalid_argument, naming `what` (the caller), unless `image` is valid.
void check_image(const Image& image, const char* what);

/// image (H, W, C) -> (height, width, C): rows [top, top + height), columns
/// [left, left + width). Throws std::invalid_argument for an invalid image and
/// std::out_of_range when the rectangle is empty or not inside the image.
Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width);

}  // namespace cg::image
