// PSNR, SSIM, L1 and colorfulness against an independent numpy implementation
// (tests/eval/quality_ref.py) on the same fixed images, and their defining properties.
#include "eval/image_quality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include "reference_file.h"

namespace cg::eval {
namespace {

std::map<std::string, torch::Tensor> load_reference() {
  return testing::load_reference("CYCLEGAN_QUALITY_REFERENCE");
}

TEST(ImageQuality, MatchesTheNumpyReference) {
  auto ref = load_reference();
  const torch::Tensor got = ref.at("got").to(torch::kFloat),
                      want = ref.at("want").to(torch::kFloat);
  EXPECT_NEAR(psnr(got, want), ref.at("psnr").item<double>(), 1e-4);
  EXPECT_NEAR(ssim(got, want), ref.at("ssim").item<double>(), 1e-5);
  EXPECT_NEAR(ssim(ref.at("gray").to(torch::kFloat), want), ref.at("ssim_gray").item<double>(),
              1e-5);
  EXPECT_NEAR(mean_abs_error(got, want), ref.at("mae").item<double>(), 1e-6);
  EXPECT_NEAR(colorfulness(want), ref.at("colorfulness_want").item<double>(), 1e-3);
  EXPECT_NEAR(colorfulness(got), ref.at("colorfulness_got").item<double>(), 1e-3);
}

TEST(ImageQuality, IdenticalImagesScorePerfectAndGrayHasNoColour) {
  const torch::Tensor x = torch::rand({2, 3, 16, 16}, torch::TensorOptions().dtype(torch::kFloat));
  EXPECT_TRUE(std::isinf(psnr(x, x)));
  EXPECT_NEAR(ssim(x, x), 1.0, 1e-12);
  EXPECT_EQ(mean_abs_error(x, x), 0.0);
  EXPECT_NEAR(colorfulness(x.mean(1, true).expand({-1, 3, -1, -1})), 0.0, 1e-9);
  // Half the pixels off by 0.1: MSE 0.005, PSNR 23.01 dB.
  torch::Tensor y = x.clone();
  y.select(3, 0).add_(0.1);
  y.narrow(3, 1, 7).add_(0.1);
  EXPECT_NEAR(psnr(y, x), 10 * std::log10(1 / 0.005), 1e-4);
}

TEST(ImageQuality, RejectsMismatchedShapes) {
  EXPECT_THROW(psnr(torch::zeros({1, 3, 16, 16}), torch::zeros({1, 1, 16, 16})), c10::Error);
  EXPECT_THROW(ssim(torch::zeros({1, 3, 8, 8}), torch::zeros({1, 3, 8, 8})), c10::Error);
  EXPECT_THROW(colorfulness(torch::zeros({1, 1, 16, 16})), c10::Error);
}

}  // namespace
}  // namespace cg::eval
