#include "eval/test_rows.h"

#include <algorithm>

#include "image/tensor_color.h"

namespace cg::eval {

std::vector<int64_t> owned(int64_t n, const EvalRanks& ranks) {
  std::vector<int64_t> out;
  for (int64_t i = ranks.rank; i < n; i += ranks.world) out.push_back(i);
  return out;
}

std::vector<int64_t> slice(const std::vector<int64_t>& v, size_t start, int64_t count) {
  const size_t end = std::min(v.size(), start + static_cast<size_t>(count));
  return {v.begin() + static_cast<std::ptrdiff_t>(start),
          v.begin() + static_cast<std::ptrdiff_t>(end)};
}

torch::Tensor read_images(const data::ImageSet& set, const std::vector<int64_t>& indices,
                          int64_t channels) {
  const auto n = static_cast<int64_t>(indices.size());
  torch::Tensor hwc = torch::empty({n, set.height(), set.width(), set.channels()}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) set.read(indices[i], hwc[i].data_ptr<uint8_t>());
  torch::Tensor images = hwc.permute({0, 3, 1, 2}).to(torch::kFloat).div(255.0);
  if (set.channels() == 3 && channels == 1) images = image::to_gray(images);
  if (set.channels() == 1 && channels == 3) images = images.expand({-1, 3, -1, -1});
  return images.contiguous();
}

}  // namespace cg::eval
