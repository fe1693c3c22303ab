// tiled_forward equals the whole-image forward pass (max abs diff <= 1e-5, float32) for both
// presets' generators with weights away from their initial values, at sizes that are not
// multiples of the tile nor of the generator's stride; normalising per tile instead (what
// hand tiling does) differs by far more, so the comparison can fail.
#include "infer/tiled_generator.h"

#include <gtest/gtest.h>

#include "tiled_test_util.h"

namespace cg::infer {
namespace {

using tiled_testing::compare;
using tiled_testing::Comparison;
using tiled_testing::padded_input;
using tiled_testing::perturbed_net;

constexpr double kExact = 1e-5;    // issue 29's bound for tiled == whole
constexpr double kPerTile = 1e-3;  // per-tile statistics must miss by 100x the bound

TEST(TiledGenerator, UnetOddSizeEqualsWholePass) {
  model::CycleGan net = perturbed_net("cifar-colorize");
  const Comparison c = compare(net, padded_input(net, 1, 257, 383), 100, true);
  RecordProperty("tiled_diff", std::to_string(c.tiled_diff));
  RecordProperty("per_tile_diff", std::to_string(c.per_tile_diff));
  EXPECT_LE(c.tiled_diff, kExact);
  EXPECT_GT(c.per_tile_diff, kPerTile);
  std::printf("U-Net 257x383 tile 100: tiled %.3g, per-tile statistics %.3g\n", c.tiled_diff,
              c.per_tile_diff);
}

TEST(TiledGenerator, ResnetOddSizeEqualsWholePass) {
  model::CycleGan net = perturbed_net("paper-256");
  const Comparison c = compare(net, padded_input(net, 3, 257, 383), 100, true);
  EXPECT_LE(c.tiled_diff, kExact);
  EXPECT_GT(c.per_tile_diff, kPerTile);
  std::printf("ResNet 257x383 tile 100: tiled %.3g, per-tile statistics %.3g\n", c.tiled_diff,
              c.per_tile_diff);
}

TEST(TiledGenerator, UnetLargeEqualsWholePass) {
  model::CycleGan net = perturbed_net("cifar-colorize");
  const Comparison c = compare(net, padded_input(net, 1, 1024, 2048), 300, false);
  EXPECT_LE(c.tiled_diff, kExact);
  std::printf("U-Net 1024x2048 tile 300: tiled %.3g\n", c.tiled_diff);
}

TEST(TiledGenerator, TinyTilesAndOneTileEqualWholePass) {
  // Tiles smaller than a halo (the 7x7 convolutions' 3 pixels at full resolution; 2-pixel
  // tiles at 1/4), and one tile larger than the image. A small ResNet (same layer kinds):
  // the bound is about float32 rounding, which grows with depth and width.
  model::CycleGanOptions options = cli::preset("paper-256").model;
  options.ngf = 16;
  options.n_blocks = 2;
  torch::manual_seed(11);
  model::CycleGan net(options);
  model::init_weights(*net);
  net->eval();
  const torch::Tensor x = padded_input(net, 3, 37, 45);
  EXPECT_LE(compare(net, x, 8, false).tiled_diff, kExact);
  EXPECT_LE(compare(net, x, 1000, false).tiled_diff, kExact);
  model::CycleGan unet = perturbed_net("cifar-colorize", 11);
  EXPECT_LE(compare(unet, padded_input(unet, 1, 37, 45), 3, false).tiled_diff, kExact);
}

TEST(TiledGenerator, ResizeUpsamplingEqualsWholePass) {
  // --upsample nearest/bilinear: resize x2 then a stride-1 convolution (zero-padded in the
  // U-Net, reflection-padded in the ResNet); tiles that cut through the resize's halo.
  for (model::Upsample upsample : {model::Upsample::kNearest, model::Upsample::kBilinear}) {
    for (const char* preset : {"cifar-colorize", "paper-256"}) {
      model::CycleGanOptions options = cli::preset(preset).model;
      options.upsample = upsample;
      options.ngf = 16;
      options.n_blocks = 2;
      torch::manual_seed(5);
      model::CycleGan net(options);
      model::init_weights(*net);
      net->eval();
      const int64_t channels = options.channels_a;
      const Comparison c = compare(net, padded_input(net, channels, 61, 83), 22, true);
      EXPECT_LE(c.tiled_diff, kExact) << preset << " " << model::to_string(upsample);
      EXPECT_GT(c.per_tile_diff, kPerTile) << preset << " " << model::to_string(upsample);
    }
  }
}

TEST(TiledGenerator, UnetWithoutNormEqualsWholePass) {
  // The demo's U-Net (--upsample bilinear --unet-norm none): Identity where the norms stood.
  model::CycleGanOptions options = cli::preset("cifar-colorize").model;
  options.upsample = model::Upsample::kBilinear;
  options.unet_norm = model::UnetNorm::kNone;
  torch::manual_seed(5);
  model::CycleGan net(options);
  model::init_weights(*net);
  net->eval();
  // No norm, no image-wide statistics: per-tile statistics change nothing either.
  const Comparison c = compare(net, padded_input(net, options.channels_a, 61, 83), 22, true);
  EXPECT_LE(c.tiled_diff, kExact);
  EXPECT_LE(c.per_tile_diff, kExact);
}

TEST(TiledGenerator, BatchOfTwoAndDirectionF) {
  model::CycleGan net = perturbed_net("cifar-colorize", 3);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::cat({padded_input(net, 3, 64, 40), padded_input(net, 3, 64, 40)});
  TiledOptions options;
  options.tile = 24;
  const torch::Tensor tiled = tiled_forward(*generator_of(net, false), x, options);
  EXPECT_LE((tiled - net->f(x)).abs().max().item<double>(), kExact);
}

TEST(TiledGenerator, EstimatesGrowWithImageNotTile) {
  model::CycleGan net = perturbed_net("paper-256");
  auto& g = *generator_of(net, true);
  const int64_t whole = whole_pass_bytes(g, 3, 4096, 4096);
  EXPECT_GT(whole, int64_t{8} << 30);  // two 64-channel float maps of 4096x4096
  EXPECT_LT(tiled_pass_bytes(g, 3, 4096, 4096, 512), whole / 8);
  EXPECT_LT(tiled_pass_bytes(g, 3, 4096, 4096, 256), tiled_pass_bytes(g, 3, 4096, 4096, 512));
}

}  // namespace
}  // namespace cg::infer
