#pragma once
// Kernel Inception Distance (Bińkowski et al. 2018), as torch-fidelity and clean-fid compute
// it: the unbiased estimate of the squared maximum mean discrepancy between two feature
// sets under the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, averaged over random
// subsets of both sets; the standard deviation over the subsets comes with it. Unlike FID it
// is unbiased for small sets, which is why it is quoted for test splits of ~100 images.
//
// The subsets are drawn from a torch CPU generator seeded with `seed`: subset i takes the
// first m entries of torch::randperm(n1) and then of torch::randperm(n2), in that order of
// calls, so a Python script with torch.Generator().manual_seed(seed) draws the same ones.
// With m equal to both set sizes every subset is the whole set, and the standard deviation
// is 0.
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace cg::eval {

struct KidOptions {
  /// Number of subset pairs the estimate is averaged over (torch-fidelity's and clean-fid's 100).
  int64_t subsets = 100;
  /// Features per subset, capped at the smaller set's size (torch-fidelity and clean-fid: 1000).
  int64_t subset_size = 1000;
  /// Seeds the choice of the subsets: the same seed, sets and options give the same KID.
  uint64_t seed = 0;
};

struct KidResult {
  double mean = 0;          ///< mean of the unbiased MMD^2 estimates over the subsets
  double std = 0;           ///< their standard deviation (population, as numpy.std)
  int64_t subsets = 0;      ///< subsets averaged
  int64_t subset_size = 0;  ///< features per subset actually used (m)
};

/// The index pairs of the subsets `kernel_inception_distance` uses for sets of n1 and n2
/// features: `options.subsets` pairs of int64 (m,) tensors of distinct indices, m =
/// min(options.subset_size, n1, n2).
std::vector<std::pair<torch::Tensor, torch::Tensor>> kid_subsets(int64_t n1, int64_t n2,
                                                                 const KidOptions& options);

/// x: (n1, D), y: (n2, D) float, n1, n2 >= 2, one device -> the unbiased MMD^2 estimate
///   sum_{i != j} k(x_i, x_j) / (n1 (n1 - 1)) + sum_{i != j} k(y_i, y_j) / (n2 (n2 - 1))
///   - 2 sum_{i, j} k(x_i, y_j) / (n1 n2),     k(a, b) = (a.b / D + 1)^3,
/// computed in float64 on that device. Can be slightly negative for close sets.
double polynomial_mmd2_unbiased(const torch::Tensor& x, const torch::Tensor& y);

/// x: (n1, D), y: (n2, D) float, n1, n2 >= 2, one device -> KID over `kid_subsets(n1, n2,
/// options)`, computed in float64 on that device. Throws c10::Error for bad shapes or options.
KidResult kernel_inception_distance(const torch::Tensor& x, const torch::Tensor& y,
                                    const KidOptions& options = {});

}  // namespace cg::eval
