// Resume is exact: N steps + checkpoint + resume + N steps gives the same bits as 2N
// steps in one run, for both presets (pool, schedule, data order and RNG included), with
// their transposed upsampling and with --upsample bilinear.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "data/shard_source.h"
#include "dataset_fixture.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

constexpr int64_t kHalf = 3;

class ResumeTest : public ::testing::TestWithParam<bool> {
 protected:
  testing::Setup setup(const std::string& name) {
    auto s = GetParam() ? testing::paper_setup(testing::fresh_dir(name + "_paper"))
                        : testing::seed_setup(testing::fresh_dir(name + "_seed"));
    s.train.steps = 2 * kHalf;
    return s;
  }
};

// 2 * kHalf steps in one run, and kHalf steps + checkpoint + resume + kHalf steps, from the
// setups `make` returns (for "whole" and "split"): the same weights, bit for bit.
template <typename MakeSetup>
void expect_split_run_equals_one_run(const MakeSetup& make) {
  testing::Setup whole = make("whole");
  auto whole_source = testing::make_source(whole, 5);  // epochs roll over mid-run
  Trainer one_run(whole.train, whole.model, *whole_source);
  one_run.train();

  testing::Setup split = make("split");
  {
    auto source = testing::make_source(split, 5);
    Trainer first_half(split.train, split.model, *source);
    for (int64_t i = 0; i < kHalf; ++i) first_half.step(source->next());
    first_half.save_checkpoint();
  }
  split.train.resume = "auto";
  auto source = testing::make_source(split, 5);
  Trainer second_half(split.train, split.model, *source);
  second_half.train();
  EXPECT_EQ(second_half.current_step(), 2 * kHalf);

  auto expected = one_run.model()->named_parameters();
  for (const auto& item : second_half.model()->named_parameters()) {
    EXPECT_TRUE(item.value().equal(expected[item.key()])) << item.key() << " differs after resume";
  }
}

TEST_P(ResumeTest, SplitRunIsBitwiseIdenticalToOneRun) {
  expect_split_run_equals_one_run([this](const std::string& name) { return setup(name); });
}

// --upsample bilinear (resize, then a convolution: other layers than the presets'), as
// scripts/demo trains: resumes as exactly.
TEST_P(ResumeTest, SplitRunWithBilinearUpsamplingIsBitwiseIdenticalToOneRun) {
  expect_split_run_equals_one_run([this](const std::string& name) {
    testing::Setup s = setup(name + "_bilinear");
    s.model.upsample = model::Upsample::kBilinear;
    return s;
  });
}

TEST_P(ResumeTest, AutoFallsBackPastACorruptNewestCheckpoint) {
  auto s = setup("fallback");
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  trainer.step(source->next());
  trainer.save_checkpoint();
  trainer.step(source->next());
  std::string newest = trainer.save_checkpoint();
  testing::flip_byte(newest, 100);

  auto again = testing::make_source(s, 8);
  Trainer resumed(s.train, s.model, *again);
  ASSERT_TRUE(resumed.resume("auto"));
  EXPECT_EQ(resumed.current_step(), 1);

  testing::flip_byte(resumed.checkpoints().list()[1], 100);
  Trainer refused(s.train, s.model, *again);
  try {
    refused.resume("auto");
    FAIL() << "all checkpoints are corrupt";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("no valid checkpoint"), std::string::npos) << e.what();
  }
  EXPECT_THROW(refused.resume(newest), FileError);
}

INSTANTIATE_TEST_SUITE_P(BothPresets, ResumeTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Paper" : "Seed"; });

// Saves a checkpoint of a 1-step seed-preset run in `name`, changes its model with
// `change`, and resumes from it: the ConfigError's message ("" when it was not refused).
template <typename Change>
std::string refusal_after_changing_the_model(const std::string& name, const Change& change) {
  auto s = testing::seed_setup(testing::fresh_dir(name));
  s.train.steps = 1;
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  const std::string path = trainer.save_checkpoint();
  change(s.model);
  Trainer other(s.train, s.model, *source);
  try {
    other.resume(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Resume, RefusesACheckpointOfAnotherModel) {
  const std::string error =
      refusal_after_changing_the_model("other_model", [](model::CycleGanOptions& m) {
        m.unet_encoder_filters = {16, 64, 128, 128};
      });
  ASSERT_FALSE(error.empty()) << "a checkpoint of other filters must be refused";
  EXPECT_NE(error.find("written for a different model"), std::string::npos) << error;
  EXPECT_NE(error.find("encoder.0.2."), std::string::npos) << error;
}

TEST(Resume, RefusesACheckpointOfAnotherUpsampling) {
  const std::string error = refusal_after_changing_the_model(
      "other_upsampling",
      [](model::CycleGanOptions& m) { m.upsample = model::Upsample::kBilinear; });
  ASSERT_FALSE(error.empty())
      << "a checkpoint of transposed upsampling must be refused by a bilinear model";
  EXPECT_NE(error.find("written for a different model"), std::string::npos) << error;
}

TEST(Resume, AutoWithoutCheckpointsStartsFresh) {
  auto s = testing::seed_setup(testing::fresh_dir("fresh"));
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  EXPECT_FALSE(trainer.resume("auto"));
  EXPECT_EQ(trainer.current_step(), 0);
}

}  // namespace
}  // namespace cg::train

namespace cg::train {
namespace {

// The same with the HDF5 loader: mid-epoch, with random crops and flips, three prefetching
// readers; the resumed run reads the very batches the single run read.
TEST(ResumeFromShards, SplitRunIsBitwiseIdenticalToOneRun) {
  const std::string data_dir = testing::fresh_dir("resume_shards_data");
  cg::testing::make_dataset(data_dir, {10, 36, 1}, {9, 36, 3});
  auto loader = [&](const testing::Setup& s) {
    data::LoaderOptions o;
    o.batch_size = s.train.batch_size;
    o.seed = s.train.seed;
    o.crop_size = 32;
    o.flip = true;
    o.channels_a = 1;
    o.channels_b = 3;
    o.lo = 0.0f;
    o.hi = 1.0f;
    o.threads = 3;
    return std::make_unique<data::ShardSource>(data_dir, o);
  };
  auto whole = testing::seed_setup(testing::fresh_dir("resume_shards_whole"));
  whole.train.steps = 2 * kHalf;  // 2 batches per epoch: the split falls mid-epoch
  auto whole_source = loader(whole);
  Trainer one_run(whole.train, whole.model, *whole_source);
  one_run.train();

  auto split = testing::seed_setup(testing::fresh_dir("resume_shards_split"));
  split.train.steps = 2 * kHalf;
  {
    auto source = loader(split);
    Trainer first_half(split.train, split.model, *source);
    for (int64_t i = 0; i < kHalf; ++i) first_half.step(source->next());
    first_half.save_checkpoint();
  }
  split.train.resume = "auto";
  auto source = loader(split);
  Trainer second_half(split.train, split.model, *source);
  second_half.train();
  auto expected = one_run.model()->named_parameters();
  for (const auto& item : second_half.model()->named_parameters()) {
    EXPECT_TRUE(item.value().equal(expected[item.key()])) << item.key() << " differs after resume";
  }
}

}  // namespace
}  // namespace cg::train
