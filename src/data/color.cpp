#include "data/color.h"

namespace cg::data {

torch::Tensor to_gray(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 4 && rgb.size(1) == 3, "to_gray expects (N, 3, H, W), got ", rgb.sizes());
  auto channels = rgb.unbind(1);
  return (channels[0] * 0.299 + channels[1] * 0.587 + channels[2] * 0.114).unsqueeze(1);
}

torch::Tensor from_unit_range(const torch::Tensor& images, double lo, double hi) {
  return images * (hi - lo) + lo;
}

}  // namespace cg::data
