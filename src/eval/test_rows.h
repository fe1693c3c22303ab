#pragma once
// Which test images each rank of an evaluation handles, reading them and running a
// generator over them (evaluator.cpp, evaluator_fid.cpp, colour_match.cpp).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/image_set.h"
#include "eval/evaluator.h"
#include "image/tensor_color.h"
#include "model/cycle_gan.h"

namespace cg::eval {

/// The indices in [0, n) this rank handles: those equal to it modulo the world size, so a
/// capped or evenly picked subset is spread over the ranks as well as the whole split.
std::vector<int64_t> owned(int64_t n, const EvalRanks& ranks);

/// Up to `count` entries of `v` from `start`.
std::vector<int64_t> slice(const std::vector<int64_t>& v, size_t start, int64_t count);

/// Which image of a split of n is row j of a FID/KID set of k (k <= n): evenly spread.
inline int64_t picked(int64_t j, int64_t n, int64_t k) { return j * n / k; }

/// Runs one of the generators over `images` ([0, 1]) in the model's range, dtype and device
/// (`options`); returns the output mapped back to [0, 1] on the CPU.
template <typename Net>
torch::Tensor translate(Net&& net, const torch::Tensor& images, const model::ImageRange& range,
                        const torch::TensorOptions& options) {
  const torch::Tensor x = image::from_unit_range(images, range.lo, range.hi).to(options);
  const torch::Tensor y = net(x).to(torch::kCPU, torch::kFloat);
  return ((y - range.lo) / (range.hi - range.lo)).clamp(0, 1);
}

/// Images `indices` of `set` as (N, channels, H, W) float in [0, 1] on the CPU, converted
/// to `channels` as the loader does.
torch::Tensor read_images(const data::ImageSet& set, const std::vector<int64_t>& indices,
                          int64_t channels);

}  // namespace cg::eval
