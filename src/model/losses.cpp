#include "model/losses.h"

namespace cg::model {

torch::Tensor adversarial_loss(const torch::Tensor& scores, bool target_real, GanLoss kind) {
  torch::Tensor target = target_real ? torch::ones_like(scores) : torch::zeros_like(scores);
  if (kind == GanLoss::kLeastSquares) return torch::mse_loss(scores, target);
  return torch::binary_cross_entropy_with_logits(scores, target);
}

torch::Tensor l1_distance(const torch::Tensor& output, const torch::Tensor& target) {
  TORCH_CHECK(output.sizes() == target.sizes(), "l1_distance shape mismatch: ", output.sizes(), " vs ",
              target.sizes());
  return torch::l1_loss(output, target);
}

torch::Tensor discriminator_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores,
                                 GanLoss kind) {
  return (adversarial_loss(real_scores, true, kind) + adversarial_loss(fake_scores, false, kind)) *
         0.5;
}

}  // namespace cg::model
