#include "data/permutation.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cg::data {
namespace {

TEST(EpochPermutation, IsAPermutationFixedBySeedStreamAndEpoch) {
  auto p = epoch_permutation(1000, 5, 1, 0);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_EQ(p, epoch_permutation(1000, 5, 1, 0));
  EXPECT_NE(p, epoch_permutation(1000, 5, 1, 1));
  EXPECT_NE(p, epoch_permutation(1000, 5, 2, 0));
  EXPECT_NE(p, epoch_permutation(1000, 6, 1, 0));
}

}  // namespace
}  // namespace cg::data
