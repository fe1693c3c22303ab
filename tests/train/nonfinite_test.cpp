// gradients_finite decides whether an optimizer's update is dropped (--on-nonfinite): one
// NaN or infinity anywhere in any gradient must be found, and finite gradients, however
// large, must pass.
#include "train/nonfinite.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cg::train {
namespace {

// Three parameters with gradients (a small one, a 1M-element one that reductions split
// over threads and vector lanes, an odd-sized one) and one without.
std::vector<torch::Tensor> parameters_with_gradients() {
  torch::manual_seed(0);
  std::vector<torch::Tensor> params;
  for (const auto& shape : {std::vector<int64_t>{8}, std::vector<int64_t>{256, 64, 8, 8},
                            std::vector<int64_t>{3, 7, 13}}) {
    torch::Tensor p = torch::zeros(shape, torch::requires_grad());
    p.mutable_grad() = torch::randn(shape);
    params.push_back(p);
  }
  params.push_back(torch::zeros({5}, torch::requires_grad()));  // no gradient
  return params;
}

TEST(GradientsFinite, FiniteGradientsPassHoweverLarge) {
  auto params = parameters_with_gradients();
  EXPECT_TRUE(gradients_finite(params));
  // Values whose squares overflow float, and denormals.
  params[1].mutable_grad().view(-1).slice(0, 0, 1000).fill_(1e30);
  params[1].mutable_grad().view(-1).slice(0, 1000, 2000).fill_(-3e30);
  params[2].mutable_grad().view(-1)[5] = std::numeric_limits<float>::denorm_min();
  EXPECT_TRUE(gradients_finite(params));
}

TEST(GradientsFinite, OneNanOrInfinityAnywhereIsFound) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  const auto sizes = parameters_with_gradients();
  for (float value : bad) {
    for (size_t tensor = 0; tensor < 3; ++tensor) {
      const int64_t n = sizes[tensor].numel();
      for (int64_t index : {int64_t{0}, n / 2 + 1, n - 1}) {
        auto fresh = parameters_with_gradients();
        fresh[tensor].mutable_grad().view(-1)[index] = value;
        EXPECT_FALSE(gradients_finite(fresh))
            << value << " at element " << index << " of gradient " << tensor;
      }
    }
  }
  // Opposite infinities in one gradient.
  auto params = parameters_with_gradients();
  params[1].mutable_grad().view(-1)[10] = std::numeric_limits<float>::infinity();
  params[1].mutable_grad().view(-1)[20] = -std::numeric_limits<float>::infinity();
  EXPECT_FALSE(gradients_finite(params));
}

TEST(GradientsFinite, ParametersWithoutGradientsAreIgnored) {
  std::vector<torch::Tensor> none = {torch::zeros({4}, torch::requires_grad())};
  EXPECT_TRUE(gradients_finite(none));
  EXPECT_TRUE(gradients_finite({}));
}

}  // namespace
}  // namespace cg::train
