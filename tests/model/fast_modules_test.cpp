// model::InstanceNorm and model::ConvTranspose stand in for torch's modules in the
// generators and discriminators: they must compute what torch's compute, gradients
// included, on the paths where they differ from torch's (batch 1; no gradients).
#include <gtest/gtest.h>

#include "model/conv_transpose.h"
#include "model/instance_norm.h"

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

}  // namespace
}  // namespace cg::model
