#pragma once
// InstanceNorm2d as the networks use it: torch::nn::InstanceNorm2d with the same options,
// parameters and results, bit for bit, in fewer operators.
//
// ATen's instance_norm tiles the affine weight and bias over the batch (Tensor::repeat, about
// thirty operators each, and a RepeatBackward each in the backward pass), views the input as
// one sample of batch x channels, and calls batch_norm. At batch 1 the tiling copies the
// parameters unchanged: skipping it gives batch_norm the same values and the parameters the
// same gradients, and saves about a third of the operators of a seed-preset step (the
// U-Net's norms are affine). Larger batches, running statistics and autocast regions take
// torch's own path, so nothing else changes.
#include <torch/torch.h>

namespace cg::model {

class InstanceNormImpl : public torch::nn::InstanceNorm2dImpl {
 public:
  using torch::nn::InstanceNorm2dImpl::InstanceNorm2dImpl;
  torch::Tensor forward(const torch::Tensor& input);
};

/// A torch::nn::InstanceNorm2d (`as<torch::nn::InstanceNorm2d>()` finds it) with the
/// batch-1 path above.
TORCH_MODULE(InstanceNorm);

}  // namespace cg::model
