#pragma once
// A convolution bias that feeds an InstanceNorm is inert: the norm subtracts each
// channel's mean, so the bias cancels and its true gradient is exactly zero. Its computed
// gradient is rounding noise, which Adam and RMSprop normalise into full-size random steps;
// two runs that differ only in rounding (1 rank vs 2, C++ vs Python) then disagree in these
// biases and, through them, in the last bits of everything else. We keep such biases (the
// paper's parameter counts and official state_dicts include them) but freeze them at
// their initial zero: the network computes the same function and training is reproducible.
#include <torch/torch.h>

namespace cg::model {

/// Freezes (requires_grad = false) the bias of every Conv2d/ConvTranspose2d in `seq` that
/// is directly followed by an InstanceNorm2d.
void freeze_biases_before_instance_norm(torch::nn::Sequential& seq);

}  // namespace cg::model
