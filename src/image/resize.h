#pragma once
// Resampling 8-bit images to another size.
#include <cstdint>

#include "image/image.h"

namespace cg::image {

/// image (H, W, C) -> (height, width, C), aspect ratio not kept: the official CycleGAN
/// 'resize_and_crop' step (PIL BICUBIC to load_size x load_size). Catmull-Rom filter (the
/// a = -0.5 cubic PIL's BICUBIC uses), widened when shrinking so it also averages, edges
/// clamped, values filtered as stored (no sRGB linearization, as PIL and torchvision do) and
/// clamped to [0, 255]. The same size returns a copy. Thread-safe.
/// Throws std::invalid_argument for an invalid image, a size <= 0, or a side of the input or
/// output larger than kMaxImageSide.
Image resize(const Image& image, int64_t height, int64_t width);

}  // namespace cg::image
