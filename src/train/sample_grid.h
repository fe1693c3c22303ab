#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/output_activation.h"

namespace cg::train {

/// One picture of two blocks stacked vertically; each block has one row per image and one
/// column per tensor, side by side: e.g. {real A, G(A), F(G(A))} over {real B, F(B),
/// G(F(B))}. Tensors are (N, C, H, W) in `range` with C 1 or 3 (gray is shown as gray);
/// all blocks share N, H and W. -> (2 * N * H, columns * W, 3) uint8 on the CPU.
torch::Tensor sample_grid(const std::vector<torch::Tensor>& top,
                          const std::vector<torch::Tensor>& bottom, model::ImageRange range);

}  // namespace cg::train
