// The paper generator (ResNet-9) at 1024x2048, tile 300: tiled_forward equals the
// whole-image pass to 1e-5. Minutes on two CPU cores: labelled long.
#include <gtest/gtest.h>

#include "tiled_test_util.h"

namespace cg::infer {
namespace {

TEST(TiledGeneratorLong, ResnetLargeEqualsWholePass) {
  model::CycleGan net = tiled_testing::perturbed_net("paper-256");
  const tiled_testing::Comparison c =
      tiled_testing::compare(net, tiled_testing::padded_input(net, 3, 1024, 2048), 300, false);
  EXPECT_LE(c.tiled_diff, 1e-5);
  std::printf("ResNet 1024x2048 tile 300: tiled %.3g\n", c.tiled_diff);
}

}  // namespace
}  // namespace cg::infer
