#pragma once
#include <torch/torch.h>

namespace cg::data {

/// rgb: (N, 3, H, W) float -> (N, 1, H, W) ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B,
/// in the same value range.
torch::Tensor to_gray(const torch::Tensor& rgb);

/// Maps images from [0, 1] to [lo, hi].
torch::Tensor from_unit_range(const torch::Tensor& images, double lo, double hi);

}  // namespace cg::data
