#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/cycle_gan.h"
#include "model/init.h"
#include "model/patch_discriminator.h"
#include "model/resnet_generator.h"
#include "model/seed_discriminator.h"
#include "model/unet_generator.h"

namespace cg::model {
namespace {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

TEST(UnetGenerator, GrayToColorAndBackKeepSizeAndSigmoidRange) {
  torch::manual_seed(0);
  UnetGenerator g(UnetGeneratorOptions(1, 3));
  UnetGenerator f(UnetGeneratorOptions(3, 1));
  torch::Tensor gray = torch::rand({2, 1, 32, 32});
  torch::Tensor color = g(gray);
  EXPECT_EQ(color.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_GE(color.min().item<float>(), 0.0f);
  EXPECT_LE(color.max().item<float>(), 1.0f);
  EXPECT_EQ(f(color).sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
}

TEST(UnetGenerator, WorksAt256) {
  UnetGenerator g(UnetGeneratorOptions(3, 3));
  torch::NoGradGuard no_grad;
  torch::Tensor y = g(torch::rand({1, 3, 256, 256}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 256, 256}));
  EXPECT_GE(y.min().item<float>(), 0.0f);
  EXPECT_LE(y.max().item<float>(), 1.0f);
}

TEST(UnetGenerator, BookFiltersAndTanhAreOptions) {
  UnetGenerator g(UnetGeneratorOptions(3, 3)
                      .encoder_filters({32, 64, 128, 256})
                      .decoder_filters({128, 64, 32})
                      .output_activation(OutputActivation::kTanh));
  torch::Tensor y = g(torch::rand({1, 3, 32, 32}) * 2 - 1);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_GE(y.min().item<float>(), -1.0f);
  EXPECT_LE(y.max().item<float>(), 1.0f);
  EXPECT_EQ(
      g->encoder[3]->as<torch::nn::Sequential>()->ptr(2)->as<torch::nn::Conv2d>()->weight.size(0),
      256);
}

TEST(UnetGenerator, RejectsSizesTheEncoderCannotHalve) {
  UnetGenerator g(UnetGeneratorOptions(1, 3));
  EXPECT_THROW(g(torch::rand({1, 1, 30, 30})), c10::Error);
  EXPECT_THROW(g(torch::rand({1, 3, 32, 32})), c10::Error);
}

TEST(ResnetGenerator, PaperParameterCount) {
  ResnetGenerator g(ResnetGeneratorOptions(3, 3));
  EXPECT_EQ(count_parameters(*g), 11378179);
}

TEST(ResnetGenerator, KeepsSizeAt256WithTanhRange) {
  torch::manual_seed(0);
  ResnetGenerator g(ResnetGeneratorOptions(3, 3));
  init_weights(*g);
  torch::NoGradGuard no_grad;
  torch::Tensor y = g(torch::rand({1, 3, 256, 256}) * 2 - 1);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 256, 256}));
  EXPECT_GE(y.min().item<float>(), -1.0f);
  EXPECT_LE(y.max().item<float>(), 1.0f);
}

TEST(SeedDiscriminator, GivesTwoByTwoPatchesAt32) {
  SeedDiscriminator d(SeedDiscriminatorOptions(3));
  EXPECT_EQ(d(torch::rand({4, 3, 32, 32})).sizes(), (std::vector<int64_t>{4, 1, 2, 2}));
  SeedDiscriminator gray(SeedDiscriminatorOptions(1));
  EXPECT_EQ(gray(torch::rand({1, 1, 32, 32})).sizes(), (std::vector<int64_t>{1, 1, 2, 2}));
}

TEST(SeedDiscriminator, GivesSixteenBySixteenPatchesAt256) {
  SeedDiscriminator d(SeedDiscriminatorOptions(3));
  torch::NoGradGuard no_grad;
  EXPECT_EQ(d(torch::rand({1, 3, 256, 256})).sizes(), (std::vector<int64_t>{1, 1, 16, 16}));
}

TEST(PatchDiscriminator, PaperParameterCountAnd30x30Map) {
  PatchDiscriminator d(PatchDiscriminatorOptions(3));
  EXPECT_EQ(count_parameters(*d), 2764737);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(d(torch::rand({1, 3, 256, 256})).sizes(), (std::vector<int64_t>{1, 1, 30, 30}));
}

TEST(InertBiases, OnlyBiasesFeedingInstanceNormAreFrozen) {
  ResnetGenerator g(ResnetGeneratorOptions(3, 3));
  auto params = g->named_parameters();
  EXPECT_FALSE(params["model.1.bias"].requires_grad());
  EXPECT_FALSE(params["model.10.conv_block.5.bias"].requires_grad());
  EXPECT_TRUE(params["model.26.bias"].requires_grad()) << "the output conv feeds tanh";
  EXPECT_TRUE(params["model.1.weight"].requires_grad());
  UnetGenerator u(UnetGeneratorOptions(1, 3));
  auto unet = u->named_parameters();
  EXPECT_TRUE(unet["encoder.0.2.bias"].requires_grad()) << "its skip reaches the output conv";
  EXPECT_FALSE(unet["encoder.1.2.bias"].requires_grad());
  EXPECT_FALSE(unet["decoder.0.2.bias"].requires_grad());
  EXPECT_TRUE(unet["decoder.2.2.bias"].requires_grad());
  EXPECT_TRUE(unet["output.bias"].requires_grad());
}

TEST(InitWeights, ConvWeightsFollowNormal002AndBiasesAreZero) {
  torch::manual_seed(3);
  ResnetGenerator g(ResnetGeneratorOptions(3, 3));
  init_weights(*g);
  auto params = g->named_parameters();
  torch::Tensor w = params["model.1.weight"];
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.002);
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(params["model.1.bias"].abs().max().item<float>(), 0.0f);
}

TEST(CycleGan, NamesSubmodulesAndSplitsParameters) {
  CycleGan net(CycleGanOptions{});
  auto names = net->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "G.encoder.0.2.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "D_B.model.9.weight"), names.end());
  size_t total = 0;
  for (const auto& p : net->parameters()) total += p.requires_grad() ? 1 : 0;
  EXPECT_LT(total, net->parameters().size()) << "inert biases are frozen";
  EXPECT_EQ(net->generator_parameters().size() + net->d_a_parameters().size() +
                net->d_b_parameters().size(),
            total);
}

}  // namespace
}  // namespace cg::model
