#include "train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> copies;
  for (const auto& p : params) copies.push_back(p.detach().clone());
  return copies;
}

bool unchanged(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& before) {
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].equal(before[i])) return false;
  }
  return true;
}

class TrainerPhases : public ::testing::TestWithParam<bool> {};

TEST_P(TrainerPhases, EachUpdateTouchesOnlyItsNetworks) {
  auto s = GetParam() ? testing::paper_setup(testing::fresh_dir("phases_paper"))
                      : testing::seed_setup(testing::fresh_dir("phases_seed"));
  s.train.steps = 1;
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  auto& net = trainer.model();
  auto gens = net->generator_parameters(), d_a = net->d_a_parameters(), d_b = net->d_b_parameters();

  Trainer::Forward fwd = trainer.forward_generators(source->next());
  auto g0 = snapshot(gens), da0 = snapshot(d_a), db0 = snapshot(d_b);
  trainer.update_d_b(fwd);
  EXPECT_TRUE(unchanged(gens, g0)) << "the D_B step changed a generator";
  EXPECT_TRUE(unchanged(d_a, da0)) << "the D_B step changed D_A";
  EXPECT_FALSE(unchanged(d_b, db0)) << "the D_B step did not update D_B";
  auto db1 = snapshot(d_b);
  trainer.update_d_a(fwd);
  EXPECT_TRUE(unchanged(gens, g0)) << "the D_A step changed a generator";
  EXPECT_TRUE(unchanged(d_b, db1)) << "the D_A step changed D_B";
  EXPECT_FALSE(unchanged(d_a, da0)) << "the D_A step did not update D_A";
  auto da1 = snapshot(d_a);
  trainer.update_generators(fwd);
  EXPECT_TRUE(unchanged(d_a, da1)) << "the generator step changed D_A";
  EXPECT_TRUE(unchanged(d_b, db1)) << "the generator step changed D_B";
  EXPECT_FALSE(unchanged(gens, g0)) << "the generator step did not update G and F";
  for (const auto& p : net->d_a_parameters()) EXPECT_TRUE(p.requires_grad()) << "D_A left frozen";
  for (const auto& p : net->d_b_parameters()) EXPECT_TRUE(p.requires_grad()) << "D_B left frozen";
}

INSTANTIATE_TEST_SUITE_P(BothPresets, TrainerPhases, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Paper" : "Seed"; });

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
  EXPECT_EQ(be32(16), 3 * 256) << "width: real | translated | reconstructed, 32 px tiles shown 8x";
  EXPECT_EQ(be32(20), 2 * 4 * 256) << "height: 4 rows of A over 4 rows of B";
  EXPECT_EQ(trainer.checkpoints().list().size(), 1u);
  EXPECT_EQ(trainer.current_step(), 4);
}

}  // namespace
}  // namespace cg::train
