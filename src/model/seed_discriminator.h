#pragma once
// The seed's PatchGAN discriminator: [LeakyReLU(0.2) -> Conv k, stride 2] per filter count
// (no normalisation), then LeakyReLU(0.2) -> Conv k, stride 1 to one channel. With the
// default 4 layers a 32x32 image gives a 2x2 map of raw scores (no sigmoid).
#include <torch/torch.h>

#include <vector>

namespace cg::model {

struct SeedDiscriminatorOptions {
  explicit SeedDiscriminatorOptions(int64_t in_channels) : in_channels_(in_channels) {}
  TORCH_ARG(int64_t, in_channels);
  /// Filters of each stride-2 layer.
  TORCH_ARG(std::vector<int64_t>, filters) = {32, 64, 128, 256};
  TORCH_ARG(int64_t, kernel_size) = 3;
};

class SeedDiscriminatorImpl : public torch::nn::Cloneable<SeedDiscriminatorImpl> {
 public:
  explicit SeedDiscriminatorImpl(SeedDiscriminatorOptions options);
  void reset() override;

  /// x: (N, in_channels, H, W) float in the image range
  /// -> (N, 1, H / 2^L, W / 2^L) raw scores (L = number of stride-2 layers).
  torch::Tensor forward(const torch::Tensor& x);

  SeedDiscriminatorOptions options;
  torch::nn::Sequential model{nullptr};
};
TORCH_MODULE(SeedDiscriminator);

}  // namespace cg::model
