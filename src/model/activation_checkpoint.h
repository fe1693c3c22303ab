#pragma once
// Activation checkpointing (Chen et al. 2016, "Training deep nets with sublinear memory
// cost"; torch.utils.checkpoint in Python, which LibTorch lacks): a block's forward runs
// without recording its graph, keeping only its input; backward runs the block again with
// grad enabled and backpropagates through that recomputation. Memory for the block's
// inner activations is traded for one more forward of the block.
#include <torch/torch.h>

#include <functional>
#include <vector>

namespace cg::model {

/// A block: a deterministic function of its input and of its parameters.
using CheckpointedBlock = std::function<torch::Tensor(const torch::Tensor&)>;

/// Returns block(x), the same values as calling it, but in backward it recomputes the
/// block instead of storing the block's activations.
///  x: any shape and dtype; block(x): one tensor.
///  params: every tensor requiring grad that the block reads besides x (its module's
///    parameters()); those without requires_grad are ignored. A trainable tensor the
///    block reads and `params` omits gets no gradient.
/// Gradients equal those of block(x) bit for bit (same kernels on the same inputs), given
/// what torch.utils.checkpoint also restores for the recomputation: the CPU random
/// generator's state (and the CUDA one of x's device) and the autocast settings in effect
/// at the forward. block must stay callable until backward. When grad mode is off, or
/// neither x nor params require grad, this is just block(x).
torch::Tensor checkpoint(const CheckpointedBlock& block, const torch::Tensor& x,
                         const std::vector<torch::Tensor>& params);

}  // namespace cg::model
