#pragma once
// CycleGAN loss terms. Every function returns a scalar float tensor (mean over elements).
// bf16/fp16 inputs (outputs of autocast forwards) are widened to float32 first: losses are
// always computed in float32 (or float64 for float64 inputs).
#include <torch/torch.h>

namespace cg::model {

enum class GanLoss {
  kLeastSquares,  ///< LSGAN: MSE against 1 (real) or 0 (fake); the seed and the paper
  kVanilla,       ///< BCE with logits against 1 or 0 (the original GAN)
};

/// scores: (N, 1, h, w) raw discriminator output; target_real picks target 1 or 0.
torch::Tensor adversarial_loss(const torch::Tensor& scores, bool target_real, GanLoss kind);

/// L1 between a reconstruction (or identity mapping) and the real image, same shapes.
torch::Tensor l1_distance(const torch::Tensor& output, const torch::Tensor& target);

/// Discriminator loss: 0.5 * (adv(real_scores, 1) + adv(fake_scores, 0)), as both the
/// paper and the seed (one batch of real plus fake under MSE) weigh it.
torch::Tensor discriminator_loss(const torch::Tensor& real_scores, const torch::Tensor& fake_scores,
                                 GanLoss kind);

}  // namespace cg::model
