#include "data/transforms.h"

#include "common/error.h"

namespace cg::data {

Augment draw_augment(SplitMix64& rng, int64_t height, int64_t width, int64_t crop, bool flip) {
  Augment a;
  a.top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(height - crop + 1)));
  a.left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(width - crop + 1)));
  a.flip = flip && rng.uniform() < 0.5;
  return a;
}

void to_model_image(const uint8_t* hwc, int64_t height, int64_t width, int64_t channels_in,
                    const Augment& augment, const ModelImage& target, float* out) {
  const int64_t size = target.size;
  CG_REQUIRE(augment.top >= 0 && augment.left >= 0 && augment.top + size <= height &&
                 augment.left + size <= width,
             ConfigError, "crop ", size, "x", size, " at (", augment.top, ", ", augment.left,
             ") does not fit a ", height, "x", width, " image");
  const float scale = (target.hi - target.lo) / 255.0f;
  const int64_t plane = size * size;
  for (int64_t y = 0; y < size; ++y) {
    const uint8_t* row = hwc + ((augment.top + y) * width + augment.left) * channels_in;
    for (int64_t x = 0; x < size; ++x) {
      const int64_t sx = augment.flip ? size - 1 - x : x;
      const uint8_t* px = row + sx * channels_in;
      const int64_t at = y * size + x;
      if (channels_in == target.channels) {
        for (int64_t c = 0; c < channels_in; ++c) out[c * plane + at] = target.lo + scale * px[c];
      } else if (channels_in == 3) {  // colour -> gray
        const float luma = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
        out[at] = target.lo + scale * luma;
      } else {  // gray -> three equal channels
        const float v = target.lo + scale * px[0];
        for (int64_t c = 0; c < target.channels; ++c) out[c * plane + at] = v;
      }
    }
  }
}

}  // namespace cg::data
