#pragma once
// Adam with torch.optim.Adam's arithmetic. LibTorch's C++ Adam updates the first moment
// as m * beta1 + g * (1 - beta1); Python's uses lerp, m + (g - m) * (1 - beta1). The two
// differ in the last bit, and Adam turns last-bit noise in near-zero gradients (biases in
// front of InstanceNorm, which cancels them) into full-size steps, so runs drift apart.
// This optimizer keeps LibTorch's state and serialization and uses Python's update, so a
// run here matches the same run in PyTorch step for step (tests/train/reference_test.cpp).
#include <torch/torch.h>

namespace cg::train {

class PyTorchAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  /// One Adam update of every parameter with a gradient (no AMSGrad, no weight decay).
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace cg::train
