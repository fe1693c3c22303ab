#pragma once
// Conv2d as the generators convolve: torch::nn::Conv2d with the same options, parameters
// and results, faster where nothing is differentiated.
//
// Without gradients (translation, evaluation) a 3x3, stride-1, zero-padded convolution of
// a float32 CPU input with 32 or more channels in and out runs as Winograd's F(2x2, 3x3)
// (model/winograd_conv.h): the paper generator's residual blocks at 256x256 do 2.25 times
// fewer multiplications, and the output differs from torch's by rounding only. With
// gradients (training, where the C++ step equals the PyTorch reference bit for bit) and
// everywhere else it is torch's own convolution.
#include <torch/torch.h>

#include <memory>
#include <mutex>

namespace cg::model {

class ConvImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  /// input: (N, C_in, H, W) -> (N, C_out, H', W'), as torch::nn::Conv2d.
  torch::Tensor forward(const torch::Tensor& input);
  /// Whether forward(input) takes the Winograd path.
  bool winograd(const torch::Tensor& input) const;

 private:
  // The weights' Winograd filters, made again when the weights change (another tensor or
  // a new version of it: an optimizer step, a checkpoint load). Shared by copies of the
  // module; forward may run in several threads.
  struct Filters {
    std::mutex mutex;
    torch::Tensor filters;
    torch::Tensor weight;  // the tensor they were made from (held, so never another's)
    int64_t version = -1;
  };
  torch::Tensor filters();
  std::shared_ptr<Filters> filters_ = std::make_shared<Filters>();
};

/// A torch::nn::Conv2d (`as<torch::nn::Conv2d>()` finds it) with the path above.
TORCH_MODULE(Conv);

}  // namespace cg::model
