// model::InstanceNorm, model::ConvTranspose and model::Conv stand in for torch's modules in the
// generators and discriminators: they must compute what torch's compute, gradients
// included, on the paths where they differ from torch's (batch 1; no gradients).
#include <gtest/gtest.h>

#include "model/autocast.h"
#include "model/conv.h"
#include "model/conv_transpose.h"
#include "model/instance_norm.h"
#include "model/winograd_conv.h"

namespace cg::model {
namespace {

namespace nn = torch::nn;

TEST(FastModules, InstanceNormAtBatchOneEqualsTorchsValuesAndGradients) {
  torch::manual_seed(0);
  for (bool affine : {true, false}) {
    const auto options = nn::InstanceNorm2dOptions(16).affine(affine);
    InstanceNorm ours(options);
    nn::InstanceNorm2d theirs(options);
    if (affine) {
      torch::NoGradGuard no_grad;
      ours->weight.uniform_(0.5, 1.5);
      ours->bias.uniform_(-0.5, 0.5);
      theirs->weight.copy_(ours->weight);
      theirs->bias.copy_(ours->bias);
    }
    for (int64_t batch : {1, 3}) {
      SCOPED_TRACE("affine " + std::to_string(affine) + ", batch " + std::to_string(batch));
      const torch::Tensor x = torch::randn({batch, 16, 9, 7}) * 3 + 1;
      const torch::Tensor x_ours = x.clone().requires_grad_(),
                          x_theirs = x.clone().requires_grad_();
      const torch::Tensor y = ours->forward(x_ours), want = theirs->forward(x_theirs);
      EXPECT_TRUE(torch::equal(y, want));
      const torch::Tensor upstream = torch::randn_like(want);
      (y * upstream).sum().backward();
      (want * upstream).sum().backward();
      EXPECT_TRUE(torch::equal(x_ours.grad(), x_theirs.grad()));
      if (affine) {
        EXPECT_TRUE(torch::equal(ours->weight.grad(), theirs->weight.grad()));
        EXPECT_TRUE(torch::equal(ours->bias.grad(), theirs->bias.grad()));
        ours->zero_grad();
        theirs->zero_grad();
      }
    }
  }
}

TEST(FastModules, ConvTransposeWithoutGradientsEqualsTorchsAndIsContiguous) {
  torch::manual_seed(1);
  // The paper generator's upsampling layer and the seed U-Net's (kernel 3 and 4).
  for (int64_t k : {3, 4}) {
    const int64_t pad = (k - 1) / 2;
    const auto options =
        nn::ConvTranspose2dOptions(32, 16, k).stride(2).padding(pad).output_padding(2 + 2 * pad -
                                                                                    k);
    ConvTranspose ours(options);
    nn::ConvTranspose2d theirs(options);
    {
      torch::NoGradGuard no_grad;
      theirs->weight.copy_(ours->weight);
      theirs->bias.copy_(ours->bias);
    }
    const torch::Tensor x = torch::randn({2, 32, 12, 10});
    torch::Tensor want;
    {
      torch::NoGradGuard no_grad;
      want = theirs->forward(x);
      const torch::Tensor y = ours->forward(x);
      EXPECT_TRUE(y.is_contiguous());
      EXPECT_EQ(y.sizes(), want.sizes());
      EXPECT_LE((y - want).abs().max().item<double>(), 1e-6 * want.abs().max().item<double>())
          << "kernel " << k;
    }
    // With gradients: torch's path, bit for bit.
    const torch::Tensor y = ours->forward(x);
    EXPECT_TRUE(y.requires_grad());
    EXPECT_TRUE(torch::equal(y, theirs->forward(x)));
  }
}

// Winograd F(2x2, 3x3) against torch's direct convolution: odd and even sizes (a last
// block half outside the output), padding 0 (the residual blocks, after their reflection
// pad) and 1 (the U-Net's "same"), with and without bias, more input than output channels
// and the reverse, two images; within float rounding of the output's scale. A wrong
// transform coefficient or a shifted block is off by the output's own magnitude.
TEST(FastModules, WinogradConvolutionEqualsTorchsToRounding) {
  torch::manual_seed(2);
  torch::NoGradGuard no_grad;
  struct Case {
    int64_t in, out, height, width, padding;
    bool bias;
  };
  for (const Case& c : {Case{32, 32, 32, 32, 0, true}, Case{64, 32, 33, 37, 1, true},
                        Case{32, 48, 129, 34, 0, false}, Case{40, 40, 40, 31, 1, true},
                        Case{32, 32, 35, 36, 0, true}}) {
    SCOPED_TRACE(std::to_string(c.in) + "->" + std::to_string(c.out) + " " +
                 std::to_string(c.height) + "x" + std::to_string(c.width) + " padding " +
                 std::to_string(c.padding));
    const torch::Tensor x = torch::randn({2, c.in, c.height, c.width});
    const torch::Tensor w = torch::randn({c.out, c.in, 3, 3}) * 0.1;
    const torch::Tensor b = c.bias ? torch::randn({c.out}) : torch::Tensor();
    ASSERT_TRUE(winograd_applies(x, w));
    const torch::Tensor y = winograd_conv2d(x, winograd_filters(w), b, c.padding);
    const torch::Tensor want = torch::conv2d(x, w, b, 1, c.padding);
    ASSERT_EQ(y.sizes(), want.sizes());
    EXPECT_TRUE(y.is_contiguous());
    EXPECT_LE((y - want).abs().max().item<double>(), 2e-6 * want.abs().max().item<double>());
  }
}

// model::Conv takes the Winograd path only without gradients and only for what it
// computes; with gradients it is torch's convolution bit for bit.
TEST(FastModules, ConvTakesWinogradOnlyWithoutGradients) {
  torch::manual_seed(3);
  Conv conv(nn::Conv2dOptions(32, 32, 3).padding(1));
  nn::Conv2d torch_conv(nn::Conv2dOptions(32, 32, 3).padding(1));
  {
    torch::NoGradGuard no_grad;
    torch_conv->weight.copy_(conv->weight);
    torch_conv->bias.copy_(conv->bias);
  }
  const torch::Tensor x = torch::randn({1, 32, 34, 34});
  EXPECT_FALSE(conv->winograd(x));  // the weight requires a gradient
  EXPECT_TRUE(torch::equal(conv->forward(x), torch_conv->forward(x)));
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(conv->winograd(x));
    const torch::Tensor y = conv->forward(x), want = torch_conv->forward(x);
    EXPECT_LE((y - want).abs().max().item<double>(), 2e-6 * want.abs().max().item<double>());
    {
      const DirectConvolutions direct;  // as activation checkpointing's first pass
      EXPECT_FALSE(conv->winograd(x));
      EXPECT_TRUE(torch::equal(conv->forward(x), torch_conv->forward(x)));
    }
    {
      const AutocastGuard autocast(c10::kCPU, c10::kBFloat16);  // torch's conv runs in bf16
      EXPECT_FALSE(conv->winograd(x));
    }
    EXPECT_FALSE(conv->winograd(x.to(torch::kDouble)));
    EXPECT_FALSE(conv->winograd(torch::randn({1, 16, 34, 34})));  // too few channels: no
    EXPECT_FALSE(conv->winograd(torch::randn({1, 32, 16, 16})));  // too small a map: no
    // Filters are kept between passes, and made again when the weights change.
    conv->weight.mul_(-0.5);
    torch_conv->weight.mul_(-0.5);
    const torch::Tensor changed = conv->forward(x), want_changed = torch_conv->forward(x);
    EXPECT_LE((changed - want_changed).abs().max().item<double>(),
              2e-6 * want_changed.abs().max().item<double>());
    Conv strided(nn::Conv2dOptions(32, 32, 3).stride(2));
    EXPECT_FALSE(strided->winograd(x));
    Conv reflect(nn::Conv2dOptions(32, 32, 3).padding(1).padding_mode(torch::kReflect));
    EXPECT_FALSE(reflect->winograd(x));
  }
}

}  // namespace
}  // namespace cg::model
