#include "model/losses.h"

namespace cg::model {
namespace {

// Autocast forwards return bf16/fp16 tensors; outside autocast a loss over them would run
// (and reduce) in that type. The widening is exact, and a no-op for float32 and float64.
torch::Tensor at_least_float(const torch::Tensor& t) {
  const bool low = t.scalar_type() == torch::kHalf || t.scalar_type() == torch::kBFloat16;
  return low ? t.to(torch::kFloat) : t;
}

}  // namespace

torch::Tensor adversarial_loss(const torch::Tensor& scores_in, bool target_real, GanLoss kind) {
  const torch::Tensor scores = at_least_float(scores_in);
  torch::Tensor target = target_real ? torch::ones_like(scores) : torch::zeros_like(scores);
  if (kind == GanLoss::kLeastSquares) return torch::mse_loss(scores, target);
  return torch::binary_cross_entropy_with_logits(scores, target);
}

torch::Tensor l1_distance(const torch::Tensor& output, const torch::Tensor& target) {
  TORCH_CHECK(output.sizes() == target.sizes(), "l1_distance shape mismatch: ", output.sizes(),
              " vs ", target.sizes());
  return torch::l1_loss(at_least_float(output), at_least_float(target));
}

torch::Tensor discriminator_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores,
                                 GanLoss kind) {
  return (adversarial_loss(real_scores, true, kind) + adversarial_loss(fake_scores, false, kind)) *
         0.5;
}

}  // namespace cg::model
