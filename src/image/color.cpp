#include "image/color.h"

#include <stdexcept>

#include "common/error.h"

namespace cg::image {

Image to_channels(const Image& image, int64_t channels) {
  check_image(image, "to_channels");
  const int64_t from = image.channels;
  if (!((from == 1 || from == 3) && (channels == 1 || channels == 3))) {
    throw std::invalid_argument(detail::str_cat(
        "to_channels converts between 1 and 3 channels, got ", from, " -> ", channels));
  }
  if (from == channels) return image;
  const size_t count = static_cast<size_t>(image.height * image.width);
  Image out{image.height, image.width, channels, std::vector<uint8_t>(count * channels)};
  const uint8_t* in = image.pixels.data();
  uint8_t* dst = out.pixels.data();
  if (channels == 1) {
    for (size_t i = 0; i < count; ++i, in += 3) {
      dst[i] = static_cast<uint8_t>((299 * in[0] + 587 * in[1] + 114 * in[2] + 500) / 1000);
    }
  } else {
    for (size_t i = 0; i < count; ++i, dst += 3) dst[0] = dst[1] = dst[2] = in[i];
  }
  return out;
}

}  // namespace cg::image
