#pragma once
// ConvTranspose2d as the generators upsample with it: torch::nn::ConvTranspose2d with the
// same options, parameters and results, faster where nothing is differentiated.
//
// On a CPU, oneDNN runs a transposed convolution of NCHW tensors through its reference
// deconvolution (a backward-data convolution plus a scalar bias pass), while from a
// channels-last input it takes its blocked kernels: the paper generator's two upsampling
// layers at 256x256 took 67 and 67 ms from NCHW and 48 and 41 ms from channels-last, with
// the same output bit for bit (about 7 % of a whole translation). So without gradients
// (translation, evaluation) a CPU input is passed channels-last and the output handed back
// contiguous; with gradients (training, where the C++ step equals the PyTorch reference)
// it is torch's own path.
#include <torch/torch.h>

namespace cg::model {

class ConvTransposeImpl : public torch::nn::ConvTranspose2dImpl {
 public:
  using torch::nn::ConvTranspose2dImpl::ConvTranspose2dImpl;
  torch::Tensor forward(const torch::Tensor& input,
                        const std::optional<at::IntArrayRef>& output_size = std::nullopt);
};

/// A torch::nn::ConvTranspose2d (`as<torch::nn::ConvTranspose2d>()` finds it) with the
/// channels-last path above.
TORCH_MODULE(ConvTranspose);

}  // namespace cg::model
