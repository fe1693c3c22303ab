#include "eval/feature_stats.h"

namespace cg::eval {

FeatureStats::FeatureStats(int64_t dim, const torch::Device& device) {
  TORCH_CHECK(dim > 0, "FeatureStats needs a positive feature dimension, got ", dim);
  const auto options = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  sum_ = torch::zeros({dim}, options);
  outer_sum_ = torch::zeros({dim, dim}, options);
}

FeatureStats::FeatureStats(int64_t count, torch::Tensor sum, torch::Tensor outer_sum)
    : count_(count), sum_(std::move(sum)), outer_sum_(std::move(outer_sum)) {
  TORCH_CHECK(count >= 0, "FeatureStats: negative count ", count);
  TORCH_CHECK(sum_.dim() == 1 && sum_.size(0) > 0, "FeatureStats: sum must be (dim,), got ",
              sum_.sizes());
  TORCH_CHECK(outer_sum_.sizes() == torch::IntArrayRef({sum_.size(0), sum_.size(0)}),
              "FeatureStats: outer sum must be (", sum_.size(0), ", ", sum_.size(0), "), got ",
              outer_sum_.sizes());
  sum_ = sum_.to(torch::kFloat64);
  outer_sum_ = outer_sum_.to(sum_.device(), torch::kFloat64);
}

void FeatureStats::add(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2 && features.size(1) == dim(), "FeatureStats expects (N, ", dim(),
              ") features, got ", features.sizes());
  const torch::Tensor f = features.to(sum_.device(), torch::kFloat64);
  sum_.add_(f.sum(0));
  outer_sum_.addmm_(f.t(), f);
  count_ += f.size(0);
}

FeatureStats& FeatureStats::operator+=(const FeatureStats& other) {
  TORCH_CHECK(other.dim() == dim(), "FeatureStats: cannot add statistics of dimension ",
              other.dim(), " to ", dim());
  sum_.add_(other.sum_.to(sum_.device()));
  outer_sum_.add_(other.outer_sum_.to(sum_.device()));
  count_ += other.count_;
  return *this;
}

torch::Tensor FeatureStats::mean() const {
  TORCH_CHECK(count_ >= 1, "FeatureStats: the mean of no features is undefined");
  return sum_ / static_cast<double>(count_);
}

torch::Tensor FeatureStats::covariance() const {
  TORCH_CHECK(count_ >= 2, "FeatureStats: a covariance needs at least 2 features, have ", count_);
  const torch::Tensor mu = mean();
  const double n = static_cast<double>(count_);
  return (outer_sum_ - n * torch::outer(mu, mu)) / (n - 1);
}

}  // namespace cg::eval
