#include "model/losses.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cg::model {
namespace {

TEST(AdversarialLoss, LeastSquaresIsMeanSquaredDistanceToTarget) {
  torch::Tensor scores = torch::tensor({0.0f, 0.5f, 1.0f, 2.0f}).view({1, 1, 2, 2});
  // real: ((1)^2 + 0.5^2 + 0 + 1^2) / 4, fake: (0 + 0.25 + 1 + 4) / 4
  EXPECT_FLOAT_EQ(adversarial_loss(scores, true, GanLoss::kLeastSquares).item<float>(), 2.25f / 4);
  EXPECT_FLOAT_EQ(adversarial_loss(scores, false, GanLoss::kLeastSquares).item<float>(), 5.25f / 4);
}

TEST(AdversarialLoss, VanillaIsBinaryCrossEntropyOnLogits) {
  torch::Tensor scores = torch::tensor({0.0f, 2.0f}).view({1, 1, 1, 2});
  double real = (std::log(2.0) + std::log(1.0 + std::exp(-2.0))) / 2;
  double fake = (std::log(2.0) + std::log(1.0 + std::exp(2.0))) / 2;
  EXPECT_NEAR(adversarial_loss(scores, true, GanLoss::kVanilla).item<double>(), real, 1e-6);
  EXPECT_NEAR(adversarial_loss(scores, false, GanLoss::kVanilla).item<double>(), fake, 1e-6);
}

TEST(DiscriminatorLoss, AveragesRealAndFakeTerms) {
  torch::Tensor real = torch::full({1, 1, 2, 2}, 0.5f);
  torch::Tensor fake = torch::full({1, 1, 2, 2}, 0.25f);
  EXPECT_FLOAT_EQ(discriminator_loss(real, fake, GanLoss::kLeastSquares).item<float>(),
                  0.5f * (0.25f + 0.0625f));
}

TEST(L1Distance, IsMeanAbsoluteDifferenceAndChecksShapes) {
  torch::Tensor a = torch::tensor({1.0f, -1.0f, 0.5f, 0.0f}).view({1, 1, 2, 2});
  torch::Tensor b = torch::zeros({1, 1, 2, 2});
  EXPECT_FLOAT_EQ(l1_distance(a, b).item<float>(), 2.5f / 4);
  EXPECT_THROW(l1_distance(a, torch::zeros({1, 3, 2, 2})), c10::Error);
}

TEST(Losses, LowPrecisionInputsAreComputedInFloat32) {
  torch::manual_seed(5);
  for (auto low : {torch::kBFloat16, torch::kHalf}) {
    torch::Tensor scores = torch::randn({2, 1, 4, 4}).to(low);
    torch::Tensor image = torch::rand({2, 3, 4, 4}).to(low);
    torch::Tensor target = torch::rand({2, 3, 4, 4});
    for (auto kind : {GanLoss::kLeastSquares, GanLoss::kVanilla}) {
      torch::Tensor loss = adversarial_loss(scores, true, kind);
      EXPECT_EQ(loss.scalar_type(), torch::kFloat);
      EXPECT_TRUE(torch::equal(loss, adversarial_loss(scores.to(torch::kFloat), true, kind)));
    }
    torch::Tensor l1 = l1_distance(image, target);
    EXPECT_EQ(l1.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::equal(l1, l1_distance(image.to(torch::kFloat), target)));
  }
}

}  // namespace
}  // namespace cg::model
