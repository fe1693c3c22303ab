#pragma once
// The optimizers of a run, PyTorchAdam and PyTorchRmsprop: Adam and RMSprop with
// torch.optim's arithmetic, each parameter group updated in a few passes over memory. One
// pair for both: they share those passes (pytorch_optimizers.cpp).
//
// LibTorch's C++ Adam updates the first moment as m * beta1 + g * (1 - beta1); Python's
// uses lerp, m + (g - m) * (1 - beta1). The two differ in the last bit, and Adam turns
// last-bit noise in near-zero gradients (biases in front of InstanceNorm, which cancels
// them) into full-size steps, so runs drift apart. These optimizers keep LibTorch's state
// and serialization (a checkpoint of torch::optim::Adam / RMSprop loads unchanged) and use
// Python's update formulas, so a run here matches the same run in PyTorch
// (tests/train/reference_test.cpp).
//
// On CPU, for contiguous float or double parameters and gradients, a group's step is one
// parallel loop for the moments, torch's sqrt per parameter, and one parallel loop for the
// parameters: torch.optim runs five to seven element-wise operators per parameter (each a
// pass over memory and a parallel region; about 350 per training step of the seed nets, a
// fifth of a batch-1 step on one thread). The loops do torch's CPU arithmetic element for
// element (scalars in the tensor's type, addcmul as a fused multiply-add where the CPU has
// FMA, as torch's AVX2 kernels do; the sqrt is torch's own, MKL's, which is not correctly
// rounded), so they give torch.optim's results. Elsewhere (CUDA, other layouts) the update
// runs as torch.optim's operator sequence.
#include <torch/torch.h>

namespace cg::train {

class PyTorchAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  /// One Adam update of every parameter with a gradient (no AMSGrad, no weight decay).
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class PyTorchRmsprop : public torch::optim::RMSprop {
 public:
  using torch::optim::RMSprop::RMSprop;
  /// One RMSprop update of every parameter with a gradient (no momentum, not centered, no
  /// weight decay).
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace cg::train
