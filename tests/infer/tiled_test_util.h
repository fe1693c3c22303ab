#pragma once
// Generators of both presets with every parameter moved away from its initial value (the
// norms' affine ones too), and the comparison of tiled_forward with the whole-image pass.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "cli/presets.h"
#include "infer/tiled_generator.h"
#include "model/cycle_gan.h"
#include "model/init.h"

namespace cg::infer::tiled_testing {

/// The CycleGan of `preset` ("cifar-colorize": U-Net, "paper-256": ResNet-9) initialised as
/// training starts (model::init_weights), then every parameter moved as training would move
/// it: by N(0, (std/2)^2) for a weight of spread std, N(0, 0.1^2) for constant ones (biases
/// at 0, the U-Net norms' scales at 1 and shifts at 0). Seeded; eval mode.
inline model::CycleGan perturbed_net(const std::string& preset, uint64_t seed = 7) {
  torch::manual_seed(seed);
  model::CycleGan net(cli::preset(preset).model);
  model::init_weights(*net);
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : net->parameters()) {
    const double spread = p.numel() > 1 ? p.std().item<double>() : 0.0;
    p.add_(torch::randn_like(p) * (spread > 0 ? 0.5 * spread : 0.1));
  }
  net->eval();
  return net;
}

/// x: (1, C, height, width) uniform in the generator's range, reflect-padded up to a
/// multiple of size_multiple() as the translator does.
inline torch::Tensor padded_input(model::CycleGan net, int64_t channels, int64_t height,
                                  int64_t width) {
  namespace F = torch::nn::functional;
  const auto range = net->range();
  torch::Tensor x = torch::rand({1, channels, height, width}) * (range.hi - range.lo) + range.lo;
  const int64_t m = net->size_multiple();
  return F::pad(
      x,
      F::PadFuncOptions({0, (m - width % m) % m, 0, (m - height % m) % m}).mode(torch::kReflect));
}

struct Comparison {
  double tiled_diff = 0;     ///< max |tiled - whole|
  double per_tile_diff = 0;  ///< max |per-tile statistics - whole|
};

/// G of `net` over `x`: whole-image pass against tiled_forward with `tile` (and, when
/// `per_tile` is set, against the deliberately wrong per-tile statistics).
inline Comparison compare(model::CycleGan net, const torch::Tensor& x, int64_t tile,
                          bool per_tile) {
  torch::NoGradGuard no_grad;
  const auto g = generator_of(net, true);
  const torch::Tensor whole = net->g(x);
  TiledOptions options;
  options.tile = tile;
  Comparison c;
  c.tiled_diff = (tiled_forward(*g, x, options) - whole).abs().max().item<double>();
  if (per_tile) {
    options.per_tile_statistics = true;
    c.per_tile_diff = (tiled_forward(*g, x, options) - whole).abs().max().item<double>();
  }
  return c;
}

}  // namespace cg::infer::tiled_testing
