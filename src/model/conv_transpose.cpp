#include "model/conv_transpose.h"

namespace cg::model {

torch::Tensor ConvTransposeImpl::forward(const torch::Tensor& input,
                                         const std::optional<at::IntArrayRef>& output_size) {
  const bool differentiable =
      torch::GradMode::is_enabled() && (input.requires_grad() || weight.requires_grad());
  if (differentiable || !input.device().is_cpu() || input.dim() != 4 ||
      input.scalar_type() != torch::kFloat) {
    return torch::nn::ConvTranspose2dImpl::forward(input, output_size);
  }
  return torch::nn::ConvTranspose2dImpl::forward(
             input.contiguous(torch::MemoryFormat::ChannelsLast), output_size)
      .contiguous();
}

}  // namespace cg::model
