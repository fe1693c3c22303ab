#include "model/seed_discriminator.h"

namespace cg::model {
namespace nn = torch::nn;

SeedDiscriminatorImpl::SeedDiscriminatorImpl(SeedDiscriminatorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void SeedDiscriminatorImpl::reset() {
  const int64_t k = options.kernel_size();
  const int64_t pad = (k - 1) / 2;
  TORCH_CHECK(!options.filters().empty(), "SeedDiscriminator needs at least one layer");
  model = nn::Sequential();
  int64_t channels = options.in_channels();
  for (int64_t filters : options.filters()) {
    model->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    model->push_back(nn::Conv2d(nn::Conv2dOptions(channels, filters, k).stride(2).padding(pad)));
    channels = filters;
  }
  model->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  model->push_back(nn::Conv2d(nn::Conv2dOptions(channels, 1, k).stride(1).padding(pad)));
  register_module("model", model);
}

torch::Tensor SeedDiscriminatorImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "SeedDiscriminator expects (N, ",
              options.in_channels(), ", H, W), got ", x.sizes());
  return model->forward(x);
}

}  // namespace cg::model
