#pragma once
// forwarding header: trainer.cpp switches to image/sample_grid.h next
// (image::sample_grid(top, bottom, range.lo, range.hi), whose tiles are enlarged to 256
// pixels). Until then this keeps the trainer's call and its grids' size (tiles as they are,
// which tests/train/trainer_test.cpp checks).
#include <torch/torch.h>

#include <vector>

#include "image/sample_grid.h"
#include "model/output_activation.h"

namespace cg::train {

inline torch::Tensor sample_grid(const std::vector<torch::Tensor>& top,
                                 const std::vector<torch::Tensor>& bottom,
                                 model::ImageRange range) {
  return image::sample_grid(top, bottom, range.lo, range.hi, /*min_tile_side=*/0);
}

}  // namespace cg::train
