#include "image/tensor_color.h"

namespace cg::image {

torch::Tensor to_gray(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 4 && rgb.size(1) == 3, "to_gray expects (N, 3, H, W), got ",
              rgb.sizes());
  auto channels = rgb.unbind(1);
  return (channels[0] * 0.299 + channels[1] * 0.587 + channels[2] * 0.114).unsqueeze(1);
}

torch::Tensor with_luma(const torch::Tensor& rgb, const torch::Tensor& gray, double chroma_gain) {
  TORCH_CHECK(gray.dim() == 4 && gray.size(1) == 1, "with_luma expects gray (N, 1, H, W), got ",
              gray.sizes());
  // Gain 1 in the form that only shifts rgb: the same bits as before gains existed.
  if (chroma_gain == 1.0) return rgb + (gray - to_gray(rgb));
  return gray + (rgb - to_gray(rgb)) * chroma_gain;
}

torch::Tensor from_unit_range(const torch::Tensor& images, double lo, double hi) {
  return images * (hi - lo) + lo;
}

}  // namespace cg::image
