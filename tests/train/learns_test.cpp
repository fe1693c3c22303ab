// It learns: the seed preset trained for a few CPU minutes on the demo data set (crops of
// real photographs) colorizes the held-out gray test crops closer to their true colours
// (PSNR) than the gray image copied to three channels, the bar. Colorized means as
// `cyclegan_translate --keep-luma` does it: the colours of G(a) on a's own luminance. G's
// raw output, luminance included, is printed too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "build_demo.h"
#include "data/shard_source.h"
#include "eval/evaluator.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

// How far above the gray copy the colorized PSNR has to be: more than the spread of the
// score between runs that learnt nothing.
constexpr double kMarginDb = 0.3;

int64_t env_or(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoll(value) : fallback;
}

TEST(Learns, SeedPresetColorizesHeldOutPhotosBetterThanTheGrayCopy) {
  const std::string dir = testing::fresh_dir("learns_data");
  tools::DemoOptions demo;
  demo.size = 32;
  demo.train_images = 2000;
  demo.test_images = 200;
  demo.overwrite = true;
  if (const char* photos = std::getenv("CYCLEGAN_DEMO_PHOTOS")) demo.photos = photos;
  tools::write_demo_dataset(dir, demo);

  auto s = testing::seed_setup(testing::fresh_dir("learns_run"));
  s.train.batch_size = env_or("CYCLEGAN_LEARNS_BATCH", 16);
  s.train.steps = env_or("CYCLEGAN_LEARNS_STEPS", 800);
  data::LoaderOptions loader;
  loader.batch_size = s.train.batch_size;
  loader.channels_a = 1;
  loader.channels_b = 3;
  loader.lo = 0.0f;  // the seed generator ends in a sigmoid
  loader.hi = 1.0f;
  data::ShardSource source(dir, loader);
  Trainer trainer(s.train, s.model, source);
  const eval::Evaluator evaluator(dir, 1, 3);
  auto report = [&](int64_t step) {
    const eval::EvalReport r = evaluator.evaluate(trainer.model());
    std::printf(
        "step %lld: held-out PSNR colorized %.2f dB, raw %.2f dB; gray copied to RGB %.2f dB\n",
        static_cast<long long>(step), r.colorized_psnr_db, r.translation_psnr_db,
        r.baseline_psnr_db);
    std::fflush(stdout);
    return r;
  };
  const eval::EvalReport untrained = report(0);
  for (int64_t i = 1; i <= s.train.steps; ++i) {
    trainer.step(source.next());
    if (i % env_or("CYCLEGAN_LEARNS_EVERY", 200) == 0 && i < s.train.steps) report(i);
  }
  const eval::EvalReport trained = report(s.train.steps);
  RecordProperty("psnr_colorized_db", std::to_string(trained.colorized_psnr_db));
  RecordProperty("psnr_raw_db", std::to_string(trained.translation_psnr_db));
  RecordProperty("psnr_gray_db", std::to_string(trained.baseline_psnr_db));
  ASSERT_TRUE(trained.colorization);
  // Untrained, G's colours are flat, so colorizing gives back the gray copy.
  EXPECT_NEAR(untrained.colorized_psnr_db, untrained.baseline_psnr_db, 0.2);
  EXPECT_GT(trained.colorized_psnr_db, trained.baseline_psnr_db + kMarginDb);
}

}  // namespace
}  // namespace cg::train
