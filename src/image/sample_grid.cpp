#include "image/sample_grid.h"

#include "image/tensor_image.h"

namespace cg::image {
namespace {

// Columns side by side: -> (N * H, columns * W, 3) uint8.
torch::Tensor block(const std::vector<torch::Tensor>& columns, double lo, double hi) {
  std::vector<torch::Tensor> rgb;
  for (const auto& c : columns) rgb.push_back(c.size(1) == 1 ? c.expand({-1, 3, -1, -1}) : c);
  torch::Tensor row = torch::cat(rgb, 3);         // (N, 3, H, columns * W)
  torch::Tensor hwc = to_uint8_hwc(row, lo, hi);  // (N, H, columns * W, 3)
  return hwc.reshape({-1, hwc.size(2), 3});
}

}  // namespace

torch::Tensor sample_grid(const std::vector<torch::Tensor>& top,
                          const std::vector<torch::Tensor>& bottom, double lo, double hi,
                          int64_t min_tile_side) {
  TORCH_CHECK(!top.empty() && !bottom.empty(), "sample_grid needs columns in both blocks");
  TORCH_CHECK(top.front().dim() == 4, "sample_grid expects NCHW, got ", top.front().sizes());
  const int64_t side = std::min(top.front().size(2), top.front().size(3));
  const int64_t scale = side > 0 && min_tile_side > side ? (min_tile_side + side - 1) / side : 1;
  torch::Tensor grid = torch::cat({block(top, lo, hi), block(bottom, lo, hi)}, 0);
  if (scale == 1) return grid;
  return grid.repeat_interleave(scale, 0).repeat_interleave(scale, 1).contiguous();
}

}  // namespace cg::image
