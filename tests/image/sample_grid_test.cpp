// Sample grids (image/sample_grid.h): layout, value range and the nearest-neighbour scale.
#include "image/sample_grid.h"

#include <gtest/gtest.h>

namespace cg::image {
namespace {

TEST(SampleGrid, SmallTilesAreEnlargedToTheMinimumSide) {
  torch::manual_seed(0);
  const auto a = torch::rand({4, 1, 32, 32}) * 2 - 1, b = torch::rand({4, 3, 32, 32}) * 2 - 1;
  const torch::Tensor grid = sample_grid({a, b, a}, {b, a, b}, -1.0, 1.0);
  // 32 -> 256 (x8): 3 columns of 256, 2 blocks of 4 rows of 256.
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{2 * 4 * 256, 3 * 256, 3}));
  EXPECT_EQ(grid.scalar_type(), torch::kUInt8);
  const torch::Tensor plain = sample_grid({a, b, a}, {b, a, b}, -1.0, 1.0, /*min_tile_side=*/0);
  EXPECT_EQ(plain.sizes(), (std::vector<int64_t>{2 * 4 * 32, 3 * 32, 3}));
  // Every pixel becomes an 8x8 square of itself.
  EXPECT_TRUE(torch::equal(
      grid.index({torch::indexing::Slice(torch::indexing::None, torch::indexing::None, 8),
                  torch::indexing::Slice(torch::indexing::None, torch::indexing::None, 8)}),
      plain));
  EXPECT_TRUE(torch::equal(grid.index({torch::indexing::Slice(7, torch::indexing::None, 8),
                                       torch::indexing::Slice(5, torch::indexing::None, 8)}),
                           plain));
  // Gray is shown as gray; -1 -> 0, 1 -> 255.
  const torch::Tensor gray_tile = plain.narrow(0, 0, 4 * 32).narrow(1, 0, 32);
  EXPECT_TRUE(torch::equal(gray_tile.select(2, 0), gray_tile.select(2, 1)));
  const torch::Tensor ends = sample_grid({torch::full({1, 3, 2, 2}, -1.0)},
                                         {torch::full({1, 3, 2, 2}, 1.0)}, -1.0, 1.0, 0);
  EXPECT_EQ(ends[0][0][0].item<int>(), 0);
  EXPECT_EQ(ends[3][1][2].item<int>(), 255);
}

TEST(SampleGrid, FactorIsTheSmallestIntegerThatReachesTheSide) {
  const auto x = torch::zeros({1, 3, 100, 120});
  EXPECT_EQ(sample_grid({x}, {x}, 0.0, 1.0).sizes(), (std::vector<int64_t>{2 * 300, 360, 3}));
  const auto big = torch::zeros({1, 3, 256, 256});
  EXPECT_EQ(sample_grid({big, big}, {big, big}, 0.0, 1.0).sizes(),
            (std::vector<int64_t>{512, 512, 3}));
}

}  // namespace
}  // namespace cg::image
