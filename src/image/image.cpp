#include "image/image.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "common/error.h"

namespace cg::image {

void check_image(const Image& image, const char* what) {
  const bool valid =
      image.height > 0 && image.width > 0 && image.channels >= 1 && image.channels <= 4 &&
      image.height <= INT_MAX / image.width &&
      image.pixels.size() == static_cast<size_t>(image.height * image.width * image.channels);
  if (!valid) {
    throw std::invalid_argument(detail::str_cat(
        what,
        " expects an image with height, width > 0, 1 to 4 channels and height * width * "
        "channels pixels, got ",
        image.height, "x", image.width, "x", image.channels, " with ", image.pixels.size(),
        " bytes"));
  }
}

Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image(image, "crop");
  if (!(top >= 0 && left >= 0 && height > 0 && width > 0 && top <= image.height - height &&
        left <= image.width - width)) {
    throw std::out_of_range(detail::str_cat("crop of ", height, "x", width, " at (top ", top,
                                            ", left ", left, ") is not inside the ", image.height,
                                            "x", image.width, " image"));
  }
  const size_t row_bytes = static_cast<size_t>(width * image.channels);
  Image out{height, width, image.channels, std::vector<uint8_t>(row_bytes * height)};
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* src = image.pixels.data() + ((top + y) * image.width + left) * image.channels;
    std::copy(src, src + row_bytes, out.pixels.data() + y * row_bytes);
  }
  return out;
}

}  // namespace cg::image
