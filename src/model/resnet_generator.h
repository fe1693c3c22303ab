#pragma once
// The CycleGAN paper's ResNet generator (Zhu et al. 2017, appendix 7.2; layer for layer
// the official PyTorch ResnetGenerator, so its state_dict names match):
// c7s1-ngf, d(2 ngf), d(4 ngf), n_blocks x R(4 ngf), u(2 ngf), u(ngf), c7s1-out, tanh.
// Reflection padding, InstanceNorm without affine parameters, biases on every conv.
//
// Module layout of `model` (state_dict names "model.<index>..."; src/infer walks it):
// 0 ReflectionPad2d(3), 1 Conv2d 7x7, 2 IN, 3 ReLU; 4-6 and 7-9: Conv2d 3x3 stride 2, IN,
// ReLU; 10 .. 9+n_blocks: ResnetBlock; then per upsampling layer (two), with upsample
// kTransposed: ConvTranspose2d 3x3 stride 2, IN, ReLU (the official indices); with
// kNearest/kBilinear: Upsample x2, ReflectionPad2d(1), Conv2d 3x3 stride 1, IN, ReLU (two
// more modules each); then ReflectionPad2d(3), Conv2d 7x7, Tanh/Sigmoid.
#include <torch/torch.h>

#include "model/output_activation.h"
#include "model/upsample.h"

namespace cg::model {

struct ResnetGeneratorOptions {
  ResnetGeneratorOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Filters of the first layer (ngf); the paper uses 64.
  TORCH_ARG(int64_t, ngf) = 64;
  /// Residual blocks: 9 for 256x256, 6 for 128x128 in the paper.
  TORCH_ARG(int64_t, n_blocks) = 9;
  TORCH_ARG(OutputActivation, output_activation) = OutputActivation::kTanh;
  /// How u(2 ngf) and u(ngf) double the size: a stride-2 transposed convolution (the
  /// paper's), or a nearest/bilinear resize then a reflection-padded 3x3 convolution.
  TORCH_ARG(Upsample, upsample) = Upsample::kTransposed;
  /// Recompute each residual block in backward instead of keeping its activations (see
  /// activation_checkpoint.h): less memory, one more forward of the blocks; same numbers.
  TORCH_ARG(bool, checkpoint_activations) = false;
};

/// x + (pad-conv3-IN-ReLU-pad-conv3-IN)(x); shape preserving.
class ResnetBlockImpl : public torch::nn::Cloneable<ResnetBlockImpl> {
 public:
  explicit ResnetBlockImpl(int64_t channels);
  void reset() override;
  /// x: (N, channels, H, W) -> (N, channels, H, W)
  torch::Tensor forward(const torch::Tensor& x);

  int64_t channels;
  torch::nn::Sequential conv_block{nullptr};
};
TORCH_MODULE(ResnetBlock);

class ResnetGeneratorImpl : public torch::nn::Cloneable<ResnetGeneratorImpl> {
 public:
  explicit ResnetGeneratorImpl(ResnetGeneratorOptions options);
  void reset() override;

  /// x: (N, in_channels, H, W) float in the image range, H and W divisible by 4
  /// -> (N, out_channels, H, W) float in the image range.
  torch::Tensor forward(const torch::Tensor& x);

  ResnetGeneratorOptions options;
  torch::nn::Sequential model{nullptr};
};
TORCH_MODULE(ResnetGenerator);

}  // namespace cg::model
