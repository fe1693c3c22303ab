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

// --upsample nearest/bilinear: each decoder layer is Sequential(IN, ReLU, Upsample, Conv2d)
// (unet_generator.h), same parameter count as the transposed convolution's, same size out.
TEST(UnetGenerator, ResizeUpsamplingLayoutSizeAndInertBiases) {
  const int64_t transposed = count_parameters(*UnetGenerator(UnetGeneratorOptions(1, 3)));
  for (Upsample mode : {Upsample::kNearest, Upsample::kBilinear}) {
    SCOPED_TRACE(to_string(mode));
    torch::manual_seed(0);
    UnetGenerator g(UnetGeneratorOptions(1, 3).upsample(mode));
    EXPECT_EQ(count_parameters(*g), transposed);
    for (size_t j = 0; j < g->decoder->size(); ++j) {
      auto layer = g->decoder[j]->as<torch::nn::Sequential>();
      ASSERT_EQ(layer->size(), 4u);
      EXPECT_NE(layer->ptr(2)->as<torch::nn::Upsample>(), nullptr);
      auto* conv = layer->ptr(3)->as<torch::nn::Conv2d>();
      ASSERT_NE(conv, nullptr);
      EXPECT_EQ(conv->options.stride()->at(0), 1);
      EXPECT_EQ(conv->bias.requires_grad(), j + 1 == g->decoder->size()) << "decoder " << j;
    }
    EXPECT_NE(g->output->as<torch::nn::ConvTranspose2d>(), nullptr);
    torch::Tensor y = g(torch::rand({2, 1, 32, 32}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
    EXPECT_GE(y.min().item<float>(), 0.0f);
    EXPECT_LE(y.max().item<float>(), 1.0f);
  }
  EXPECT_THROW(
      UnetGenerator(UnetGeneratorOptions(1, 3).kernel_size(4).upsample(Upsample::kNearest)),
      c10::Error);
}

// --unet-norm none: an Identity where each InstanceNorm stood (same names), so no norm
// parameters, and every conv bias trains (none feeds a norm any more).
TEST(UnetGenerator, WithoutNormAnIdentityStandsForEachNormAndEveryBiasTrains) {
  UnetGenerator g(UnetGeneratorOptions(1, 3).upsample(Upsample::kBilinear).norm(UnetNorm::kNone));
  for (torch::nn::ModuleList layers : {g->encoder, g->decoder}) {
    for (size_t i = 0; i < layers->size(); ++i) {
      auto layer = layers[i]->as<torch::nn::Sequential>();
      EXPECT_NE(layer->ptr(0)->as<torch::nn::Identity>(), nullptr) << "layer " << i;
    }
  }
  for (const auto& p : g->named_parameters()) {
    EXPECT_TRUE(p.value().requires_grad()) << p.key();
  }
  const int64_t with_norm = count_parameters(*UnetGenerator(UnetGeneratorOptions(1, 3)));
  int64_t norm_parameters = 0;  // scale and shift per channel of the maps each norm sees
  for (int64_t c : {1, 32, 64, 128, 128, 256, 128}) norm_parameters += 2 * c;
  EXPECT_EQ(count_parameters(*g), with_norm - norm_parameters);
  EXPECT_EQ(to_string(UnetNorm::kInstance), "instance");
  EXPECT_EQ(to_string(UnetNorm::kNone), "none");
}

// What --unet-norm none is for: the seed's U-Net normalises its input image, so a photograph
// and a copy of it at a quarter of the contrast give the same output (up to InstanceNorm's
// epsilon); without the norm the network sees the difference.
TEST(UnetGenerator, OnlyWithoutNormItSeesTheInputsContrast) {
  const torch::Tensor x = torch::rand({2, 1, 32, 32}, torch::TensorOptions().dtype(torch::kFloat));
  const torch::Tensor flat = 0.5 + 0.25 * (x - 0.5);
  const auto change = [&](UnetNorm norm) {
    torch::manual_seed(0);
    UnetGenerator g(UnetGeneratorOptions(1, 3).upsample(Upsample::kBilinear).norm(norm));
    torch::NoGradGuard no_grad;
    return (g(x) - g(flat)).abs().max().item<double>();
  };
  const double instance = change(UnetNorm::kInstance), none = change(UnetNorm::kNone);
  EXPECT_LT(instance, 1e-3);
  EXPECT_GT(none, 20 * instance);
}

// The ResNet's u(2 ngf) and u(ngf) become Upsample, ReflectionPad2d(1), Conv2d 3x3 (two
// modules more each, resnet_generator.h): the paper's parameter count, the size kept.
TEST(ResnetGenerator, ResizeUpsamplingLayoutSizeAndInertBiases) {
  for (Upsample mode : {Upsample::kNearest, Upsample::kBilinear}) {
    SCOPED_TRACE(to_string(mode));
    torch::manual_seed(0);
    ResnetGenerator g(ResnetGeneratorOptions(3, 3).upsample(mode));
    EXPECT_EQ(count_parameters(*g), 11378179);
    for (size_t first : {19u, 24u}) {
      EXPECT_NE(g->model->ptr(first)->as<torch::nn::Upsample>(), nullptr) << first;
      EXPECT_NE(g->model->ptr(first + 1)->as<torch::nn::ReflectionPad2d>(), nullptr) << first;
      EXPECT_NE(g->model->ptr(first + 3)->as<torch::nn::InstanceNorm2d>(), nullptr) << first;
      auto* conv = g->model->ptr(first + 2)->as<torch::nn::Conv2d>();
      ASSERT_NE(conv, nullptr) << first;
      EXPECT_EQ(conv->options.stride()->at(0), 1);
      EXPECT_FALSE(conv->bias.requires_grad()) << "it feeds an InstanceNorm";
    }
    auto params = g->named_parameters();
    EXPECT_TRUE(params["model.30.bias"].requires_grad()) << "the output conv feeds tanh";
    init_weights(*g);
    EXPECT_NEAR(params["model.21.weight"].std().item<double>(), 0.02, 0.002);
    EXPECT_EQ(params["model.21.bias"].abs().max().item<float>(), 0.0f);
    torch::NoGradGuard no_grad;
    torch::Tensor y = g(torch::rand({1, 3, 64, 64}) * 2 - 1);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
    EXPECT_GE(y.min().item<float>(), -1.0f);
    EXPECT_LE(y.max().item<float>(), 1.0f);
  }
}

// What the option is for: on a constant feature map, a decoder's upsampling (the layer
// after its IN and ReLU) gives a constant interior with nearest/bilinear, and the 2-periodic
// checkerboard of uneven kernel overlap with a stride-2 transposed convolution.
TEST(UnetGenerator, ResizeUpsamplingLeavesNoCheckerboardOnAConstantMap) {
  auto interior_spread = [](Upsample mode) {
    torch::manual_seed(1);
    UnetGenerator g(UnetGeneratorOptions(1, 3).upsample(mode));
    init_weights(*g);
    auto layer = g->decoder[0]->as<torch::nn::Sequential>();
    torch::NoGradGuard no_grad;
    torch::Tensor h = torch::ones({1, 128, 8, 8});
    for (auto module = layer->begin() + 2; module != layer->end(); ++module) h = module->forward(h);
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{1, 128, 16, 16}));
    const torch::Tensor inner = h.narrow(2, 2, 12).narrow(3, 2, 12);
    return (inner.amax({2, 3}) - inner.amin({2, 3})).max().item<double>() /
           inner.abs().max().item<double>();
  };
  EXPECT_GT(interior_spread(Upsample::kTransposed), 0.1);
  EXPECT_LT(interior_spread(Upsample::kNearest), 1e-5);
  EXPECT_LT(interior_spread(Upsample::kBilinear), 1e-5);
}

TEST(CycleGan, UpsampleReachesBothGenerators) {
  CycleGanOptions options;
  options.upsample = Upsample::kBilinear;
  CycleGan net(options);
  auto names = net->named_parameters().keys();
  for (const std::string name : {"G.decoder.0.3.weight", "F.decoder.2.3.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  EXPECT_EQ(std::find(names.begin(), names.end(), "G.decoder.0.2.weight"), names.end());
  EXPECT_EQ(to_string(Upsample::kTransposed), "transposed");
  EXPECT_EQ(to_string(Upsample::kNearest), "nearest");
  EXPECT_EQ(to_string(Upsample::kBilinear), "bilinear");
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
