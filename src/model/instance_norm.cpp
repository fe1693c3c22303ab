#include "model/instance_norm.h"

#include <ATen/autocast_mode.h>

namespace cg::model {

torch::Tensor InstanceNormImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 4 || input.size(0) != 1 || options.track_running_stats() ||
      at::autocast::is_autocast_enabled(input.device().type())) {
    return torch::nn::InstanceNorm2dImpl::forward(input);
  }
  // ATen's instance_norm (Normalization.cpp) at batch 1, where weight.repeat(1) is weight.
  const torch::Tensor reshaped =
      input.contiguous().view({1, input.size(1), input.size(2), input.size(3)});
  return torch::batch_norm(reshaped, weight, bias, /*running_mean=*/{}, /*running_var=*/{},
                           /*training=*/true, options.momentum(), options.eps(),
                           at::globalContext().userEnabledCuDNN())
      .view(input.sizes());
}

}  // namespace cg::model
