#include "common/rng.h"

#include <gtest/gtest.h>

namespace cg {
namespace {

TEST(SplitMix64, MatchesPublishedSequence) {
  // First outputs of SplitMix64 seeded with 1234567 (Vigna's reference splitmix64.c).
  SplitMix64 rng(1234567);
  EXPECT_EQ(rng.next_u64(), 6457827717110365317ULL);
  EXPECT_EQ(rng.next_u64(), 3203168211198807973ULL);
  EXPECT_EQ(rng.next_u64(), 9817491932198370423ULL);
}

TEST(SplitMix64, UniformAndBelowStayInRange) {
  SplitMix64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_LT(rng.below(50), 50u);
  }
}

TEST(SplitMix64, StateRoundTripRepeatsTheSequence) {
  SplitMix64 rng(42);
  rng.next_u64();
  uint64_t saved = rng.state();
  uint64_t expected = rng.next_u64();
  SplitMix64 other(0);
  other.set_state(saved);
  EXPECT_EQ(other.next_u64(), expected);
}

TEST(MixSeed, DependsOnEveryArgument) {
  uint64_t base = mix_seed(1, 2, 3, 4);
  EXPECT_EQ(base, mix_seed(1, 2, 3, 4));
  EXPECT_NE(base, mix_seed(0, 2, 3, 4));
  EXPECT_NE(base, mix_seed(1, 0, 3, 4));
  EXPECT_NE(base, mix_seed(1, 2, 0, 4));
  EXPECT_NE(base, mix_seed(1, 2, 3, 0));
}

}  // namespace
}  // namespace cg
