#include "train/lr_schedule.h"

#include <gtest/gtest.h>

namespace cg::train {
namespace {

TEST(LrFactor, ConstantThenLinearToZero) {
  EXPECT_DOUBLE_EQ(lr_factor(0, 200, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(99, 200, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(100, 200, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(150, 200, 0.5), 0.5);
  EXPECT_NEAR(lr_factor(199, 200, 0.5), 0.01, 1e-12);
  EXPECT_DOUBLE_EQ(lr_factor(200, 200, 0.5), 0.0);
}

TEST(LrFactor, DecayStartOneKeepsTheRate) {
  EXPECT_DOUBLE_EQ(lr_factor(0, 10, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(9, 10, 1.0), 1.0);
}

}  // namespace
}  // namespace cg::train
