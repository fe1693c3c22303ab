#pragma once
// Colour conversion of image tensors: ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B), the
// same weights color.h's to_channels uses on 8-bit images.
#include <torch/torch.h>

namespace cg::image {

/// rgb: (N, 3, H, W) float -> (N, 1, H, W) BT.601 luma 0.299 R + 0.587 G + 0.114 B,
/// in the same value range.
torch::Tensor to_gray(const torch::Tensor& rgb);

/// rgb: (N, 3, H, W), gray: (N, 1, H, W), both in one value range -> rgb with its BT.601
/// luma replaced by `gray` and its chroma (R - Y, G - Y, B - Y) times `chroma_gain`:
/// gray + chroma_gain (rgb - Y). Colorization output in this form has exactly the input's
/// luminance, so the network decides the colours alone (and the gain how strong they are,
/// eval/colour_match.h). Not clamped: the caller clamps to its range.
torch::Tensor with_luma(const torch::Tensor& rgb, const torch::Tensor& gray,
                        double chroma_gain = 1.0);

/// Maps images from [0, 1] to [lo, hi].
torch::Tensor from_unit_range(const torch::Tensor& images, double lo, double hi);

}  // namespace cg::image
