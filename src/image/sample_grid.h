#pragma once
// The picture a training run writes to show what its generators do.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace cg::image {

/// Default smallest tile side of sample_grid, in pixels.
constexpr int64_t kSampleTileSide = 256;

/// One picture of two blocks stacked vertically; each block has one row per image and one
/// column per tensor, side by side: e.g. {real A, G(A), F(G(A))} over {real B, F(B),
/// G(F(B))}. Tensors are (N, C, H, W) in [lo, hi] with C 1 or 3 (gray is shown as gray);
/// all blocks share N, H and W. Each tile is enlarged by the smallest integer factor
/// s >= 1 that makes min(H, W) * s >= min_tile_side, by nearest neighbour (every pixel
/// becomes an s x s square: nothing is smoothed or invented), so 32x32 images are shown at
/// 256x256. -> (2 * N * H * s, columns * W * s, 3) uint8 on the CPU.
torch::Tensor sample_grid(const std::vector<torch::Tensor>& top,
                          const std::vector<torch::Tensor>& bottom, double lo, double hi,
                          int64_t min_tile_side = kSampleTileSide);

}  // namespace cg::image
