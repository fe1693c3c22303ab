#pragma once
// Between image tensors and 8-bit images: value-range conversion, copies both ways, and PNG
// output of tensors.
#include <torch/torch.h>

#include <string>

#include "image/image.h"

namespace cg::image {

/// Converts a batch (N, C, H, W) float in [lo, hi] to (N, H, W, C) uint8 in [0, 255],
/// clamping values outside the range.
torch::Tensor to_uint8_hwc(const torch::Tensor& images, double lo, double hi);

/// image (valid) -> (H, W, C) uint8 tensor on the CPU holding a copy of its pixels.
torch::Tensor to_tensor(const Image& image);

/// pixels: (H, W, C) uint8, C in 1..4, any device -> Image holding a copy.
Image to_image(const torch::Tensor& pixels);

/// Encodes `image` (H, W, C) uint8, C in {1, 3}, as PNG bytes.
std::string encode_png(const torch::Tensor& image);

/// Writes `image` (H, W, C) uint8, C in {1, 3}, as a PNG at `path`, atomically.
/// Throws FileError naming `path` when it cannot be written.
void write_png(const std::string& path, const torch::Tensor& image);

}  // namespace cg::image
