// FID on synthetic features: the closed forms of the Fréchet distance and its identities
// (zero for a set with itself, the squared shift for a shifted set), in the rank-deficient
// case of fewer features than dimensions too.
#include "eval/fid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "eval/feature_stats.h"

namespace cg::eval {
namespace {

torch::Tensor features(int64_t n, int64_t d, uint64_t seed, double scale = 1.0) {
  torch::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  // Non-negative and correlated across dimensions, as pooled ReLU features are.
  const torch::Tensor z = torch::randn({n, 8}, g, torch::kFloat64);
  const torch::Tensor mix = torch::randn({8, d}, g, torch::kFloat64);
  return (torch::matmul(z, mix) * 0.3 + torch::rand({n, d}, g, torch::kFloat64)).relu() * scale;
}

FeatureStats stats_of(const torch::Tensor& f) {
  FeatureStats s(f.size(1));
  s.add(f);
  return s;
}

TEST(Fid, MatchesTheClosedFormOfDiagonalCovariances) {
  // Commuting covariances: FID = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor mu1 = torch::tensor({0.5, -1.0, 2.0}, opt),
                      mu2 = torch::tensor({1.0, 0.0, 2.0}, opt);
  const torch::Tensor a = torch::tensor({4.0, 1.0, 0.25}, opt),
                      b = torch::tensor({1.0, 9.0, 0.0}, opt);
  const double want = 0.25 + 1.0 + (1.0 + 4.0 + 0.25);
  EXPECT_NEAR(frechet_distance(mu1, torch::diag(a), mu2, torch::diag(b)), want, 1e-12);
}

TEST(Fid, MatchesTheNuclearNormFormOfFullRankCovariances) {
  // tr((S1 S2)^(1/2)) = sum of the singular values of S1^(1/2) S2^(1/2): an independent route
  // (SVD of a non-symmetric product) to the same number.
  const FeatureStats s1 = stats_of(features(200, 24, 2)), s2 = stats_of(features(150, 24, 3, 1.5));
  const auto root = [](const torch::Tensor& s) {
    auto [values, vectors] = torch::linalg_eigh(s);
    return torch::matmul(vectors * values.sqrt(), vectors.t());
  };
  const torch::Tensor c1 = s1.covariance(), c2 = s2.covariance();
  const double nuclear =
      torch::linalg_svdvals(torch::matmul(root(c1), root(c2))).sum().item<double>();
  const double want = (s1.mean() - s2.mean()).square().sum().item<double>() +
                      c1.trace().item<double>() + c2.trace().item<double>() - 2 * nuclear;
  const double got = frechet_distance(s1, s2);
  EXPECT_NEAR(got, want, 1e-9 * want);
  EXPECT_NEAR(frechet_distance(s2, s1), got, 1e-9 * got);
  EXPECT_GT(got, 1.0);
}

TEST(Fid, IsZeroForASetWithItselfAndTheSquaredShiftForAShiftedSet) {
  // Fewer features than dimensions, as for a test split: both covariances are singular.
  const torch::Tensor f = features(40, 1024, 4);
  const FeatureStats s = stats_of(f);
  const double self = frechet_distance(s, s);
  std::cout << "FID of a set with itself: " << self << " (trace of its covariance "
            << s.covariance().trace().item<double>() << ")\n";
  EXPECT_NEAR(self, 0.0, 1e-6);

  const torch::Tensor shift = torch::full({1024}, 0.01, torch::kFloat64);
  const double shifted = frechet_distance(s, stats_of(f + shift));
  EXPECT_NEAR(shifted, 1024 * 0.01 * 0.01, 1e-6);
}

TEST(Fid, DecomposesOnlyTheRangeOfLowRankCovariancesWithTheSameResult) {
  // From FeatureStats of 30 and 50 features in 512 dimensions only a range of rank <= 29 is
  // decomposed; from the matrices themselves the whole 512 x 512 covariance is.
  const FeatureStats s1 = stats_of(features(30, 512, 7)), s2 = stats_of(features(50, 512, 8, 1.2));
  const double whole = frechet_distance(s1.mean(), s1.covariance(), s2.mean(), s2.covariance());
  EXPECT_NEAR(frechet_distance(s1, s2), whole, 1e-9 * whole);
  EXPECT_NEAR(frechet_distance(s2, s1), whole, 1e-9 * whole);
  EXPECT_GT(whole, 1.0);
}

TEST(Fid, RejectsMismatchedShapes) {
  const torch::Tensor mu = torch::zeros({4}, torch::kFloat64), s = torch::eye(4, torch::kFloat64);
  EXPECT_THROW(frechet_distance(mu, s, torch::zeros({3}, torch::kFloat64), s), c10::Error);
  EXPECT_THROW(frechet_distance(mu, s, mu, torch::eye(3, torch::kFloat64)), c10::Error);
  EXPECT_THROW(frechet_distance(stats_of(features(5, 4, 5)), stats_of(features(5, 6, 6))),
               c10::Error);
}

}  // namespace
}  // namespace cg::eval
