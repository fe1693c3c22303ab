#pragma once
// The per-image training transform, in one pass over the pixels: crop, horizontal flip,
// channel conversion and scaling to the model's value range. Torch-free.
#include <cstdint>

#include "common/rng.h"

namespace cg::data {

/// Where to crop and whether to flip one image.
struct Augment {
  int64_t top = 0, left = 0;
  bool flip = false;
};

/// Draws a crop of crop x crop inside height x width (uniform offsets) and, when
/// `flip` is allowed, a horizontal flip with probability 1/2.
Augment draw_augment(SplitMix64& rng, int64_t height, int64_t width, int64_t crop, bool flip);

/// Geometry and value range of the model's input.
struct ModelImage {
  int64_t size = 0;      ///< crop size: output is size x size
  int64_t channels = 0;  ///< 1 or 3
  float lo = -1.0f, hi = 1.0f;
};

/// hwc: (height, width, channels_in) uint8, channels_in 1 or 3
///   -> out: (target.channels, target.size, target.size) float in [lo, hi], CHW.
/// 3 -> 1 takes the ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B); 1 -> 3 repeats gray.
void to_model_image(const uint8_t* hwc, int64_t height, int64_t width, int64_t channels_in,
                    const Augment& augment, const ModelImage& target, float* out);

}  // namespace cg::data
