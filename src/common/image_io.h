#pragma once
// PNG output of image tensors (stb_image_write).
#include <torch/torch.h>

#include <string>

namespace cg {

/// Encodes `image` (H, W, C) uint8, C in {1, 3}, as PNG bytes.
std::string encode_png(const torch::Tensor& image);

/// Writes `image` (H, W, C) uint8, C in {1, 3}, as a PNG at `path`, atomically.
/// Throws FileError naming `path` when it cannot be written.
void write_png(const std::string& path, const torch::Tensor& image);

/// Converts a batch (N, C, H, W) float in [lo, hi] to (N, H, W, C) uint8 in [0, 255],
/// clamping values outside the range.
torch::Tensor to_uint8_hwc(const torch::Tensor& images, double lo, double hi);

}  // namespace cg
