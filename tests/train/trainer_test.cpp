#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

TEST(Trainer, IdentityLossOnlyWhereChannelsMatch) {
  auto seed = testing::seed_setup(testing::fresh_dir("identity_seed"));
  seed.train.steps = 1;
  auto seed_source = testing::make_source(seed, 8);
  Trainer gray_to_color(seed.train, seed.model, *seed_source);
  EXPECT_EQ(gray_to_color.step(seed_source->next()).idt_a, 0.0);

  auto paper = testing::paper_setup(testing::fresh_dir("identity_paper"));
  paper.train.steps = 1;
  auto paper_source = testing::make_source(paper, 8);
  Trainer color_to_color(paper.train, paper.model, *paper_source);
  StepLosses l = color_to_color.step(paper_source->next());
  EXPECT_GT(l.idt_a, 0.0);
  EXPECT_GT(l.idt_b, 0.0);
  EXPECT_NEAR(l.g_total, l.g_adv + l.f_adv + l.cycle_a + l.cycle_b + l.idt_a + l.idt_b, 1e-4);
}

// The fault-injection hook (CYCLEGAN_TEST_NONFINITE), which the loop applies: at the named
// step D_B's update is dropped and its loss reads NaN, as after a NaN loss; D_A, G and F
// still update, --on-nonfinite skip goes on, and the next step updates D_B again.
TEST(Trainer, AnInjectedNonFiniteStepDropsOnlyTheUpdateOfDb) {
  const testing::ScopedEnv nan_step("CYCLEGAN_TEST_NONFINITE", "2");
  auto s = testing::seed_setup(testing::fresh_dir("inject_nonfinite"));
  s.train.steps = 3;
  s.train.on_nonfinite = NonFinitePolicy::kSkip;
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  auto& net = trainer.model();
  trainer.step(source->next());
  const auto gens = testing::snapshot(net->generator_parameters()),
             d_a = testing::snapshot(net->d_a_parameters()),
             d_b = testing::snapshot(net->d_b_parameters());
  const StepLosses l = trainer.step(source->next());
  EXPECT_TRUE(std::isnan(l.d_b));
  EXPECT_TRUE(std::isfinite(l.d_a));
  EXPECT_TRUE(std::isfinite(l.g_total));
  EXPECT_TRUE(testing::unchanged(net->d_b_parameters(), d_b)) << "D_B took the non-finite update";
  EXPECT_FALSE(testing::unchanged(net->d_a_parameters(), d_a)) << "D_A's update was dropped too";
  EXPECT_FALSE(testing::unchanged(net->generator_parameters(), gens))
      << "G's update was dropped too";
  EXPECT_EQ(trainer.skipped_steps(), 1);
  const StepLosses next = trainer.step(source->next());
  EXPECT_TRUE(std::isfinite(next.d_b));
  EXPECT_FALSE(testing::unchanged(net->d_b_parameters(), d_b))
      << "D_B stayed frozen after the fault";
  EXPECT_EQ(trainer.skipped_steps(), 1);
  for (const auto& p : net->parameters()) ASSERT_TRUE(p.isfinite().all().item<bool>());
}

TEST(Trainer, RejectsDataWhoseChannelsDoNotMatchTheModel) {
  auto s = testing::seed_setup(testing::fresh_dir("channels"));
  auto paper = testing::paper_setup(testing::fresh_dir("channels_paper"));
  auto source = testing::make_source(paper, 8);  // colour A, the seed model wants gray A
  EXPECT_THROW(Trainer(s.train, s.model, *source), ConfigError);
}

TEST(Trainer, TrainWritesSampleGridsAndAFinalCheckpoint) {
  auto s = testing::seed_setup(testing::fresh_dir("samples"));
  s.train.steps = 4;
  s.train.sample_every = 2;
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  trainer.train();
  std::string png = s.train.run_dir + "/samples/step_00000004.png";
  ASSERT_TRUE(std::filesystem::exists(png));
  std::ifstream in(png, std::ios::binary);
  unsigned char header[24];
  in.read(reinterpret_cast<char*>(header), 24);
  auto be32 = [&](int at) {
    return (header[at] << 24) | (header[at + 1] << 16) | (header[at + 2] << 8) | header[at + 3];
  };
  // The seed preset colorizes (gray A, colour B): a fourth column with the translation on
  // its gray input's luminance (--keep-luma).
  EXPECT_EQ(be32(16), 4 * 256)
      << "width: real | translated | reconstructed | on the input's luma, 32 px tiles shown 8x";
  EXPECT_EQ(be32(20), 2 * 4 * 256) << "height: 4 rows of A over 4 rows of B";
  EXPECT_EQ(trainer.checkpoints().list().size(), 1u);
  EXPECT_EQ(trainer.current_step(), 4);
}

}  // namespace
}  // namespace cg::train
