#include "model/patch_discriminator.h"

#include <algorithm>

#include "model/inert_bias.h"
#include "model/instance_norm.h"

namespace cg::model {
namespace nn = torch::nn;
namespace {

nn::Conv2d conv4(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(stride).padding(1));
}

nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); }

}  // namespace

PatchDiscriminatorImpl::PatchDiscriminatorImpl(PatchDiscriminatorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void PatchDiscriminatorImpl::reset() {
  const int64_t ndf = options.ndf();
  TORCH_CHECK(options.n_layers() >= 1, "PatchDiscriminator needs n_layers >= 1");
  model = nn::Sequential();
  model->push_back(conv4(options.in_channels(), ndf, 2));
  model->push_back(leaky());
  int64_t mult = 1;
  for (int64_t n = 1; n <= options.n_layers(); ++n) {
    int64_t prev = mult;
    mult = std::min<int64_t>(int64_t{1} << n, 8);
    model->push_back(conv4(ndf * prev, ndf * mult, n < options.n_layers() ? 2 : 1));
    model->push_back(InstanceNorm(nn::InstanceNorm2dOptions(ndf * mult).affine(false)));
    model->push_back(leaky());
  }
  model->push_back(conv4(ndf * mult, 1, 1));
  freeze_biases_before_instance_norm(model);
  register_module("model", model);
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels(), "PatchDiscriminator expects (N, ",
              options.in_channels(), ", H, W), got ", x.sizes());
  return model->forward(x);
}

}  // namespace cg::model
