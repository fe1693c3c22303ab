#pragma once
// Colour conversion of 8-bit images: ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B) one
// way, gray repeated the other (tensor_color.h does the same on tensors). Torch-free.
#include <cstdint>

#include "image/image.h"

namespace cg::image {

/// image (H, W, C_in), C_in in {1, 3} -> (H, W, channels), channels in {1, 3}.
/// 3 -> 1: BT.601 luma round(0.299 R + 0.587 G + 0.114 B) in exact integer arithmetic,
/// halves rounded up (PIL's convert('L') uses a 16-bit fixed-point approximation that
/// differs by 1 on 0.05% of colors); 1 -> 3: gray repeated; same count: a copy.
/// Throws std::invalid_argument for an invalid image or another channel pair.
Image to_channels(const Image& image, int64_t channels);

}  // namespace cg::image
