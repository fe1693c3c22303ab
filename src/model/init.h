#pragma once
#include <torch/torch.h>

namespace cg::model {

/// Initialises every Conv/ConvTranspose weight of `module` from N(0, gain) and its bias to
/// 0; affine InstanceNorm scales to 1 and shifts to 0 (the paper's "normal" init, gain
/// 0.02). Uses the default CPU generator: seed it first for reproducible weights.
void init_weights(torch::nn::Module& module, double gain = 0.02);

}  // namespace cg::model
