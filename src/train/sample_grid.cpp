#include "train/sample_grid.h"

#include "common/image_io.h"

namespace cg::train {
namespace {

// Columns side by side: -> (N * H, columns * W, 3) uint8.
torch::Tensor block(const std::vector<torch::Tensor>& columns, model::ImageRange range) {
  std::vector<torch::Tensor> rgb;
  for (const auto& c : columns) rgb.push_back(c.size(1) == 1 ? c.expand({-1, 3, -1, -1}) : c);
  torch::Tensor row = torch::cat(rgb, 3);          // (N, 3, H, columns * W)
  torch::Tensor hwc = to_uint8_hwc(row, range.lo, range.hi);  // (N, H, columns * W, 3)
  return hwc.reshape({-1, hwc.size(2), 3});
}

}  // namespace

torch::Tensor sample_grid(const std::vector<torch::Tensor>& top,
                          const std::vector<torch::Tensor>& bottom, model::ImageRange range) {
  return torch::cat({block(top, range), block(bottom, range)}, 0);
}

}  // namespace cg::train
