// Mixed precision and activation checkpointing in the trainer: fp16 runs resume bit for bit
// with their loss scalers, overflowing steps are skipped without stopping the run, and
// recomputing activations in backward changes no bit of an fp32 run. On the CPU, or on
// cuda:0 under CYCLEGAN_TEST_DEVICE=cuda (tests/test_device.h; the gpu-labelled copy
// TrainMixedPrecisionGpuTests), with cuDNN's deterministic algorithms.
#include <gtest/gtest.h>

#include <string>

#include "test_device.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

// `s` on the test device.
testing::Setup on_test_device(testing::Setup s) {
  s.train.device = cg::test::test_device().str();
  cg::test::use_deterministic_cudnn();
  return s;
}

constexpr int64_t kHalf = 3;

// Steps 2-4 make D_B's loss NaN (the fault-injection hook): under fp16 the D_B scaler skips
// them and backs off three times; the run goes on (three in a row would stop an fp32 run).
TEST(MixedPrecision, Fp16SplitRunIsBitwiseIdenticalToOneRunWithItsScalers) {
  const testing::ScopedEnv nan_steps("CYCLEGAN_TEST_NONFINITE", "2,3,4");
  auto setup = [](const std::string& name) {
    auto s = on_test_device(testing::seed_setup(testing::fresh_dir(name)));
    s.train.batch_size = 2;
    s.train.steps = 2 * kHalf;
    s.train.precision = Precision::kFp16;
    return s;
  };
  auto whole = setup("fp16_whole");
  auto whole_source = testing::make_source(whole, 3);
  Trainer one_run(whole.train, whole.model, *whole_source);
  one_run.train();
  EXPECT_GE(one_run.scaler_d_b().skipped_steps(), 3);
  EXPECT_GE(one_run.skipped_steps(), 3);
  EXPECT_LE(one_run.scaler_d_b().scale_value(), 65536.0 / 8);

  auto split = setup("fp16_split");
  {
    auto source = testing::make_source(split, 3);
    Trainer first_half(split.train, split.model, *source);
    for (int64_t i = 0; i < kHalf; ++i) first_half.step(source->next());
    first_half.save_checkpoint();
  }
  split.train.resume = "auto";
  auto source = testing::make_source(split, 3);
  Trainer second_half(split.train, split.model, *source);
  second_half.train();
  ASSERT_EQ(second_half.current_step(), 2 * kHalf);
  using Accessor = const GradScaler& (Trainer::*)() const;
  for (Accessor scaler : {&Trainer::scaler_g, &Trainer::scaler_d_a, &Trainer::scaler_d_b}) {
    const GradScaler& want = (one_run.*scaler)();
    const GradScaler& got = (second_half.*scaler)();
    EXPECT_EQ(got.scale_value(), want.scale_value());
    EXPECT_EQ(got.growth_tracker(), want.growth_tracker());
    EXPECT_EQ(got.skipped_steps(), want.skipped_steps());
  }
  auto expected = one_run.model()->named_parameters();
  for (const auto& item : second_half.model()->named_parameters()) {
    EXPECT_TRUE(item.value().equal(expected[item.key()])) << item.key() << " differs after resume";
  }
}

// Under fp16 the weights move (the updates are unscaled, not lost) and stay finite.
TEST(MixedPrecision, Fp16StepsUpdateTheWeights) {
  auto s = on_test_device(testing::seed_setup(testing::fresh_dir("fp16_updates")));
  s.train.batch_size = 2;
  s.train.precision = Precision::kFp16;
  auto source = testing::make_source(s, 2);
  Trainer trainer(s.train, s.model, *source);
  std::vector<torch::Tensor> before;
  for (const auto& p : trainer.model()->generator_parameters())
    before.push_back(p.detach().clone());
  int64_t applied = 0;
  for (int i = 0; i < 4; ++i) {
    trainer.step(source->next());
    applied = i + 1 - trainer.scaler_g().skipped_steps();
  }
  ASSERT_GT(applied, 0) << "every generator update was skipped";
  double moved = 0;
  const auto after = trainer.model()->generator_parameters();
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_TRUE(after[i].isfinite().all().item<bool>());
    moved = std::max(moved, (after[i] - before[i]).abs().max().item<double>());
  }
  // RMSprop moves a weight by up to ~lr / sqrt(1 - alpha) per applied step: with lr 1e-4
  // that is 3e-4, far above fp32 rounding of weights ~0.02 (2e-9), far below a blow-up.
  EXPECT_GT(moved, 1e-6);
  EXPECT_LT(moved, 1e-2 * static_cast<double>(applied));
}

class CheckpointActivations : public ::testing::TestWithParam<bool> {};

// Recomputing the generators' blocks in backward gives the same bits (fp32; on CUDA too,
// as far as the backward kernels are deterministic: the paper preset's ReflectionPad2d
// backward accumulates with atomicAdd there, which this check would show).
TEST_P(CheckpointActivations, WeightsAfterStepsAreBitwiseEqual) {
  auto setup = [](const std::string& name, bool recompute) {
    auto s = on_test_device(GetParam() ? testing::paper_setup(testing::fresh_dir(name + "_paper"))
                                       : testing::seed_setup(testing::fresh_dir(name + "_seed")));
    s.train.steps = 3;
    s.model.checkpoint_activations = recompute;
    return s;
  };
  auto plain = setup("activations_kept", false);
  auto plain_source = testing::make_source(plain, 4);
  Trainer kept(plain.train, plain.model, *plain_source);
  auto recomputed_setup = setup("activations_recomputed", true);
  auto source = testing::make_source(recomputed_setup, 4);
  Trainer recomputed(recomputed_setup.train, recomputed_setup.model, *source);
  for (int i = 0; i < 3; ++i) {
    const StepLosses a = kept.step(plain_source->next());
    const StepLosses b = recomputed.step(source->next());
    EXPECT_EQ(a.g_total, b.g_total) << "step " << i;
    EXPECT_EQ(a.d_a, b.d_a) << "step " << i;
  }
  auto expected = kept.model()->named_parameters();
  for (const auto& item : recomputed.model()->named_parameters()) {
    EXPECT_TRUE(item.value().equal(expected[item.key()])) << item.key() << " differs";
  }
}

INSTANTIATE_TEST_SUITE_P(BothPresets, CheckpointActivations, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Paper" : "Seed"; });

}  // namespace
}  // namespace cg::train
