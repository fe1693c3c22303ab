#include "model/instance_norm.h"

#include <ATen/autocast_mode.h>

namespace cg::model {

torch::Tensor InstanceNormImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 4 || input.size(0) != 1 || options.track_running_stats() ||
      at::autocast::is_autocast_enabled(input.device().type())) {
    return torch::nn::InstanceNorm2dImpl::forward(input);
  }
  // ATen's instance_norm (Normalization.cpp) at batch 1: its view as one sample of batch x
  // channels is the input's own shape, and weight.repeat(1) is weight.
  return torch::batch_norm(input.contiguous(), weight, bias, /*running_mean=*/{},
                           /*running_var=*/{}, /*training=*/true, options.momentum(), options.eps(),
                           at::globalContext().userEnabledCuDNN());
}

}  // namespace cg::model
