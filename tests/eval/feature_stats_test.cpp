// FeatureStats: sums that add up across parts, and the mean and covariance of numpy.cov.
#include "eval/feature_stats.h"

#include <gtest/gtest.h>

namespace cg::eval {
namespace {

torch::Tensor features(int64_t n, int64_t d, uint64_t seed) {
  torch::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::rand({n, d}, g, torch::kFloat64);
}

FeatureStats stats_of(const torch::Tensor& f) {
  FeatureStats s(f.size(1));
  s.add(f);
  return s;
}

TEST(FeatureStats, PartsAddUpToTheWholeAndMatchTorchCov) {
  const torch::Tensor f = features(30, 16, 1).to(torch::kFloat);
  FeatureStats whole = stats_of(f), first = stats_of(f.narrow(0, 0, 11)),
               rest = stats_of(f.narrow(0, 11, 19));
  first += rest;
  EXPECT_EQ(first.count(), 30);
  EXPECT_TRUE(torch::allclose(first.sum(), whole.sum(), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(first.outer_sum(), whole.outer_sum(), 1e-12, 1e-12));
  const torch::Tensor f64 = f.to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(whole.mean(), f64.mean(0), 1e-12, 1e-14));
  EXPECT_TRUE(torch::allclose(whole.covariance(), torch::cov(f64.t()), 1e-10, 1e-13));

  // Rebuilt from the sums alone, as another rank or a cache hands them over.
  const FeatureStats copy(whole.count(), whole.sum().clone(), whole.outer_sum().clone());
  EXPECT_TRUE(torch::equal(copy.covariance(), whole.covariance()));
  const FeatureStats from_float(2, torch::ones({16}), torch::ones({16, 16}));
  EXPECT_EQ(from_float.sum().scalar_type(), torch::kFloat64);
  EXPECT_EQ(from_float.outer_sum().scalar_type(), torch::kFloat64);
}

TEST(FeatureStats, RejectsBadShapesAndTooFewFeatures) {
  FeatureStats s(16);
  EXPECT_THROW(s.add(torch::zeros({4, 15})), c10::Error);
  EXPECT_THROW(s.mean(), c10::Error);
  s.add(torch::zeros({1, 16}));
  EXPECT_THROW(s.covariance(), c10::Error);
  FeatureStats other(8);
  EXPECT_THROW(s += other, c10::Error);
  EXPECT_THROW(FeatureStats(3, torch::zeros({4}), torch::zeros({4, 3})), c10::Error);
}

}  // namespace
}  // namespace cg::eval
