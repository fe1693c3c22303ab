#pragma once
// Procedural landscape pictures (sky, sun, ground, houses, trees) whose colours follow
// from shape and position, so gray -> colour is learnable. They stand in for photographs
// where no data set is given (tests, first demo); the same seed gives the same pictures.
#include <torch/torch.h>

#include <cstdint>

namespace cg::data {

/// -> (count, 3, size, size) float RGB in [0, 1]; picture i depends only on (seed, i).
torch::Tensor make_scenes(int64_t count, int64_t size, uint64_t seed);

}  // namespace cg::data
