#pragma once
// The paper's 70x70 PatchGAN (the official NLayerDiscriminator with n_layers = 3):
// C64 (no norm) - C128 - C256 - C512 (stride 1) - conv to 1 channel, 4x4 kernels,
// InstanceNorm without affine, LeakyReLU(0.2). A 256x256 image gives a 30x30 map.
#include <torch/torch.h>

namespace cg::model {

struct PatchDiscriminatorOptions {
  explicit PatchDiscriminatorOptions(int64_t in_channels) : in_channels_(in_channels) {}
  TORCH_ARG(int64_t, in_channels);
  /// Filters of the first layer (ndf).
  TORCH_ARG(int64_t, ndf) = 64;
  /// Official n_layers: layers after the first, the last of them stride 1 (3 gives 70x70).
  TORCH_ARG(int64_t, n_layers) = 3;
};

class PatchDiscriminatorImpl : public torch::nn::Cloneable<PatchDiscriminatorImpl> {
 public:
  explicit PatchDiscriminatorImpl(PatchDiscriminatorOptions options);
  void reset() override;

  /// x: (N, in_channels, H, W) float in the image range -> (N, 1, H', W') raw scores,
  /// H' = H / 2^n_layers - 2 (30 for 256 with n_layers = 3).
  torch::Tensor forward(const torch::Tensor& x);

  PatchDiscriminatorOptions options;
  torch::nn::Sequential model{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

}  // namespace cg::model
