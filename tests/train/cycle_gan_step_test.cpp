// CycleGanStep alone: each phase updates only its own networks, it needs no run directory,
// it reports the learning rates its optimizers held, and the trainer's loop around it adds
// nothing to the numbers (its steps are the same bits as the bare step's).
#include "train/cycle_gan_step.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "train/lr_schedule.h"
#include "train/trainer.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

testing::Setup setup(bool paper, const std::string& name) {
  return paper ? testing::paper_setup(testing::fresh_dir(name + "_paper"))
               : testing::seed_setup(testing::fresh_dir(name + "_seed"));
}

class CycleGanStepPhases : public ::testing::TestWithParam<bool> {};

TEST_P(CycleGanStepPhases, EachUpdateTouchesOnlyItsNetworks) {
  auto s = setup(GetParam(), "phases");
  auto source = testing::make_source(s, 8);
  CycleGanStep step(s.train, s.model);
  auto& net = step.model();
  auto gens = net->generator_parameters(), d_a = net->d_a_parameters(), d_b = net->d_b_parameters();

  CycleGanStep::Forward fwd = step.forward_generators(source->next());
  auto g0 = testing::snapshot(gens), da0 = testing::snapshot(d_a), db0 = testing::snapshot(d_b);
  step.update_d_b(fwd);
  EXPECT_TRUE(testing::unchanged(gens, g0)) << "the D_B step changed a generator";
  EXPECT_TRUE(testing::unchanged(d_a, da0)) << "the D_B step changed D_A";
  EXPECT_FALSE(testing::unchanged(d_b, db0)) << "the D_B step did not update D_B";
  auto db1 = testing::snapshot(d_b);
  step.update_d_a(fwd);
  EXPECT_TRUE(testing::unchanged(gens, g0)) << "the D_A step changed a generator";
  EXPECT_TRUE(testing::unchanged(d_b, db1)) << "the D_A step changed D_B";
  EXPECT_FALSE(testing::unchanged(d_a, da0)) << "the D_A step did not update D_A";
  auto da1 = testing::snapshot(d_a);
  step.update_generators(fwd);
  EXPECT_TRUE(testing::unchanged(d_a, da1)) << "the generator step changed D_A";
  EXPECT_TRUE(testing::unchanged(d_b, db1)) << "the generator step changed D_B";
  EXPECT_FALSE(testing::unchanged(gens, g0)) << "the generator step did not update G and F";
  for (const auto& p : net->d_a_parameters()) EXPECT_TRUE(p.requires_grad()) << "D_A left frozen";
  for (const auto& p : net->d_b_parameters()) EXPECT_TRUE(p.requires_grad()) << "D_B left frozen";
}

// A Trainer over `steps` steps with a decaying schedule, and a bare CycleGanStep fed the
// same batches at the schedule's factors: the same losses, learning rates and weights, bit
// for bit. The bare step writes nothing: its run_dir stays absent.
TEST_P(CycleGanStepPhases, TheTrainersStepsAreTheBareStepsBitForBit) {
  constexpr int64_t kSteps = 4;
  auto s = setup(GetParam(), "bare");
  s.train.steps = kSteps;
  s.train.lr_decay_start = 0.25;
  auto trainer_source = testing::make_source(s, 6);
  Trainer trainer(s.train, s.model, *trainer_source);
  std::vector<StepLosses> trainer_losses;
  for (int64_t i = 0; i < kSteps; ++i)
    trainer_losses.push_back(trainer.step(trainer_source->next()));
  // Built after the trainer's steps: both start from the RNG state their seed gives.
  auto bare_source = testing::make_source(s, 6);
  CycleGanStep bare(s.train, s.model);
  for (int64_t i = 0; i < kSteps; ++i) {
    const StepLosses& want = trainer_losses[i];
    bare.set_learning_rate_factor(lr_factor(i, kSteps, s.train.lr_decay_start));
    const StepResult got = bare.step(bare_source->next());
    EXPECT_EQ(got.losses.g_total, want.g_total) << "step " << i;
    EXPECT_EQ(got.losses.d_a, want.d_a) << "step " << i;
    EXPECT_EQ(got.losses.d_b, want.d_b) << "step " << i;
    EXPECT_EQ(got.lr_g, s.train.lr_g * lr_factor(i, kSteps, s.train.lr_decay_start));
    EXPECT_EQ(got.lr_d, s.train.lr_d * lr_factor(i, kSteps, s.train.lr_decay_start));
    EXPECT_FALSE(got.update_skipped());
  }
  EXPECT_LT(bare.optimizer_g().param_groups().front().options().get_lr(), s.train.lr_g)
      << "the schedule did not decay";
  auto expected = trainer.model()->named_parameters();
  for (const auto& item : bare.model()->named_parameters()) {
    EXPECT_TRUE(item.value().equal(expected[item.key()])) << item.key() << " differs";
  }
  EXPECT_EQ(bare.update_skipped_steps(), 0);
  EXPECT_EQ(bare.comm_wait_seconds(), 0);
}

INSTANTIATE_TEST_SUITE_P(BothPresets, CycleGanStepPhases, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Paper" : "Seed"; });

TEST(CycleGanStep, NeedsNoRunDirectory) {
  auto s = testing::seed_setup(testing::fresh_dir("step_no_run_dir"));
  auto source = testing::make_source(s, 4);
  CycleGanStep step(s.train, s.model);
  const StepResult r = step.step(source->next());
  EXPECT_TRUE(std::isfinite(r.losses.g_total));
  EXPECT_EQ(r.lr_g, s.train.lr_g) << "the optimizers start at factor 1";
  EXPECT_EQ(r.lr_d, s.train.lr_d);
  EXPECT_EQ(r.allreduce_bytes, 0) << "one rank all-reduces nothing";
  EXPECT_EQ(r.loss_scales[0], 0) << "fp32 scales no losses";
  EXPECT_FALSE(std::filesystem::exists(s.train.run_dir));
}

}  // namespace
}  // namespace cg::train
