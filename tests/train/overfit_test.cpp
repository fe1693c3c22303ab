// The seed model can learn: on 8 fixed unpaired images per domain the cycle loss must
// fall to at most half of where it started, in fp32 and with bf16 forwards.
#include <gtest/gtest.h>

#include "trainer_test_util.h"

namespace cg::train {
namespace {

class Overfit : public ::testing::TestWithParam<Precision> {};

TEST_P(Overfit, CycleLossHalvesOnEightFixedPairs) {
  auto s = testing::seed_setup(testing::fresh_dir("overfit"));
  s.train.precision = GetParam();
  s.train.batch_size = 8;
  s.train.steps = 120;
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  auto cycle = [](const StepLosses& l) { return l.cycle_a + l.cycle_b; };
  double first = 0, last = 0;
  const int window = 10;
  for (int64_t i = 0; i < s.train.steps; ++i) {
    double c = cycle(trainer.step(source->next()));
    if (i < window) first += c / window;
    if (i >= s.train.steps - window) last += c / window;
  }
  RecordProperty("cycle_loss_first", std::to_string(first));
  RecordProperty("cycle_loss_last", std::to_string(last));
  EXPECT_LE(last, 0.5 * first) << "cycle loss went from " << first << " to " << last;
}

INSTANTIATE_TEST_SUITE_P(Precisions, Overfit, ::testing::Values(Precision::kFp32, Precision::kBf16),
                         [](const auto& info) {
                           return info.param == Precision::kFp32 ? "Fp32" : "Bf16";
                         });

}  // namespace
}  // namespace cg::train
