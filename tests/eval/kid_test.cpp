// KID on synthetic features: the unbiased MMD^2 by hand, the seeded subsets, the whole-set
// kernel path against per-subset kernels, and its statistics (about 0 for one distribution,
// the spread of the estimate shrinking with more subsets).
#include "eval/kid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace cg::eval {
namespace {

torch::Tensor features(int64_t n, int64_t d, uint64_t seed, double shift = 0.0) {
  torch::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::rand({n, d}, g, torch::kFloat64) + shift;
}

TEST(Kid, UnbiasedMmdMatchesAHandComputation) {
  // D = 1, k(a, b) = (ab + 1)^3. x = {0, 1}: k(0, 1) = 1, twice over 2 * 1 pairs -> 1.
  // y = {2, 3}: k(2, 3) = 343 -> 343. k(x, y) = 1 + 1 + 27 + 64 = 93 over 4 -> 23.25.
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor x = torch::tensor({0.0, 1.0}, opt).unsqueeze(1);
  const torch::Tensor y = torch::tensor({2.0, 3.0}, opt).unsqueeze(1);
  EXPECT_NEAR(polynomial_mmd2_unbiased(x, y), 1 + 343 - 2 * 23.25, 1e-12);
}

TEST(Kid, SubsetsAreSeededDistinctAndCapped) {
  const KidOptions options{/*subsets=*/5, /*subset_size=*/7, /*seed=*/3};
  const auto subsets = kid_subsets(20, 9, options);
  ASSERT_EQ(subsets.size(), 5u);
  for (const auto& [ix, iy] : subsets) {
    ASSERT_EQ(ix.size(0), 7);
    ASSERT_EQ(iy.size(0), 7);
    const std::set<int64_t> distinct_x(ix.data_ptr<int64_t>(), ix.data_ptr<int64_t>() + 7);
    const std::set<int64_t> distinct_y(iy.data_ptr<int64_t>(), iy.data_ptr<int64_t>() + 7);
    EXPECT_EQ(distinct_x.size(), 7u);
    EXPECT_EQ(distinct_y.size(), 7u);
    EXPECT_GE(*distinct_x.begin(), 0);
    EXPECT_LT(*distinct_x.rbegin(), 20);
    EXPECT_LT(*distinct_y.rbegin(), 9);
  }
  const auto again = kid_subsets(20, 9, options);
  EXPECT_TRUE(torch::equal(again[4].first, subsets[4].first));
  EXPECT_TRUE(torch::equal(again[4].second, subsets[4].second));
  const auto other = kid_subsets(20, 9, KidOptions{5, 7, 4});
  EXPECT_FALSE(torch::equal(other[0].first, subsets[0].first));
  // Capped at the smaller set.
  EXPECT_EQ(kid_subsets(20, 9, KidOptions{2, 1000, 0})[0].first.size(0), 9);
}

TEST(Kid, IsTheMeanAndStdOfTheSubsetEstimates) {
  const torch::Tensor x = features(60, 32, 1), y = features(45, 32, 2, 0.1);
  const KidOptions options{/*subsets=*/10, /*subset_size=*/20, /*seed=*/11};
  std::vector<double> direct;
  for (const auto& [ix, iy] : kid_subsets(60, 45, options)) {
    direct.push_back(polynomial_mmd2_unbiased(x.index_select(0, ix), y.index_select(0, iy)));
  }
  double mean = 0, var = 0;
  for (double v : direct) mean += v / direct.size();
  for (double v : direct) var += (v - mean) * (v - mean) / direct.size();
  const KidResult r = kernel_inception_distance(x.to(torch::kFloat), y.to(torch::kFloat), options);
  EXPECT_EQ(r.subsets, 10);
  EXPECT_EQ(r.subset_size, 20);
  // The float32 inputs are converted to float64 before any product.
  const double mean_f32 = [&] {
    double m = 0;
    for (const auto& [ix, iy] : kid_subsets(60, 45, options)) {
      m += polynomial_mmd2_unbiased(x.to(torch::kFloat).index_select(0, ix),
                                    y.to(torch::kFloat).index_select(0, iy)) /
           10;
    }
    return m;
  }();
  EXPECT_NEAR(r.mean, mean_f32, 1e-12);
  EXPECT_NEAR(r.mean, mean, 1e-6 * std::abs(mean));
  EXPECT_NEAR(r.std, std::sqrt(var), 1e-6 * std::sqrt(var));
  EXPECT_GT(r.std, 0);
}

TEST(Kid, LargeSetsTakeKernelsPerSubsetWithTheSameResult) {
  // 3000 + 3000 features: the kernel of both whole sets would pass 256 MiB.
  const torch::Tensor x = features(3000, 4, 5), y = features(3000, 4, 6, 0.05);
  const KidOptions options{/*subsets=*/3, /*subset_size=*/50, /*seed=*/2};
  double want = 0;
  for (const auto& [ix, iy] : kid_subsets(3000, 3000, options)) {
    want += polynomial_mmd2_unbiased(x.index_select(0, ix), y.index_select(0, iy)) / 3;
  }
  EXPECT_NEAR(kernel_inception_distance(x, y, options).mean, want, 1e-12);
}

TEST(Kid, IsAboutZeroForOneDistributionAndPositiveForTwo) {
  const KidOptions options{/*subsets=*/20, /*subset_size=*/100, /*seed=*/0};
  const torch::Tensor x = features(300, 16, 7);
  const KidResult same = kernel_inception_distance(x, features(300, 16, 8), options);
  const KidResult apart = kernel_inception_distance(x, features(300, 16, 9, 0.2), options);
  EXPECT_LT(std::abs(same.mean), 3 * same.std);
  EXPECT_GT(apart.mean, 10 * std::abs(same.mean));
  EXPECT_GT(apart.mean, 3 * apart.std);
}

TEST(Kid, TheEstimateSpreadsLessWithMoreSubsets) {
  // The std over subsets estimates the spread of one subset's MMD^2 and stays put as subsets
  // are added; the KID (their mean) varies less from seed to seed, as std / sqrt(subsets).
  const torch::Tensor x = features(400, 16, 10), y = features(400, 16, 11, 0.05);
  const auto spread_over_seeds = [&](int64_t subsets, double* mean_std) {
    std::vector<double> means;
    *mean_std = 0;
    for (uint64_t seed = 0; seed < 8; ++seed) {
      const KidResult r = kernel_inception_distance(x, y, KidOptions{subsets, 50, seed});
      means.push_back(r.mean);
      *mean_std += r.std / 8;
    }
    double mean = 0, var = 0;
    for (double v : means) mean += v / means.size();
    for (double v : means) var += (v - mean) * (v - mean) / (means.size() - 1);
    return std::sqrt(var);
  };
  double std_few = 0, std_many = 0;
  const double spread_few = spread_over_seeds(4, &std_few);
  const double spread_many = spread_over_seeds(100, &std_many);
  EXPECT_LT(spread_many, 0.5 * spread_few) << spread_few << " -> " << spread_many;
  EXPECT_NEAR(spread_many, std_many / std::sqrt(100.0), 0.6 * std_many / std::sqrt(100.0));
  EXPECT_GT(std_many, 0.5 * std_few);
  EXPECT_LT(std_many, 2.0 * std_few);
}

TEST(Kid, RejectsBadInput) {
  EXPECT_THROW(kernel_inception_distance(features(1, 4, 0), features(5, 4, 1)), c10::Error);
  EXPECT_THROW(kernel_inception_distance(features(5, 4, 0), features(5, 3, 1)), c10::Error);
  EXPECT_THROW(kernel_inception_distance(features(5, 4, 0), features(5, 4, 1), KidOptions{0}),
               c10::Error);
  EXPECT_THROW(kid_subsets(5, 5, KidOptions{3, 1, 0}), c10::Error);
}

}  // namespace
}  // namespace cg::eval
