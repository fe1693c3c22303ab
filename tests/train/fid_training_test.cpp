// FID/KID during training, under mpirun (main: tests/parallel/mpi_test_main.cpp):
// - DistributedEval: at any world size the trainer's evaluation (every rank its share, sums
//   over the communicator) gives rank 0 the numbers one process computes alone, to 1e-6,
//   the do-nothing baselines and the checkerboard measure included;
// - BestCheckpoint (one rank): ckpt_best.pt follows the lowest FID of a short run, stays
//   out of the rotation, and carries its value across resumes, where a worse value stays
//   and a better one replaces it; eval/summary.json holds the last and the best evaluation.
// Both need the Inception weights and skip without them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "common/file_util.h"
#include "eval/evaluator.h"
#include "eval_test_dataset.h"
#include "parallel/mpi_communicator.h"
#include "train/run_report.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {
namespace fs = std::filesystem;

#define SKIP_WITHOUT_WEIGHTS()                                                                 \
  do {                                                                                         \
    if (!fs::exists(eval::default_inception_path()))                                           \
      GTEST_SKIP() << "FID/KID unavailable: no weights at " << eval::default_inception_path(); \
  } while (0)

eval::EvalOptions fid_options() {
  eval::EvalOptions o;
  o.fid_images = 3;
  o.batch_size = 2;
  o.kid.subsets = 4;
  return o;
}

void expect_close(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::abs(want))) << what;
}

TEST(DistributedEval, EveryWorldSizeGivesTheNumbersOfOneProcess) {
  SKIP_WITHOUT_WEIGHTS();
  parallel::MpiCommunicator comm;
  const int rank = comm.rank(), world = comm.size();
  const std::string data = (fs::temp_directory_path() / "cyclegan_dist_eval_data").string();
  if (rank == 0) {
    fs::remove_all(data);
    cg::testing::write_eval_dataset(data, 7, 7, 11);
  }
  comm.barrier();
  auto s = testing::seed_setup(testing::fresh_dir("dist_eval_" + std::to_string(rank)));
  auto source = testing::make_source(s, 16, 1, rank, world);
  Trainer trainer(s.train, s.model, *source, {}, &comm);
  eval::EvalOptions options = fid_options();
  options.cache = false;  // every real set extracted by all ranks, every time
  const eval::Evaluator evaluator(data, 1, 3, options);
  trainer.set_evaluator(&evaluator);

  const std::optional<eval::EvalReport> shared = trainer.evaluate();
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->fid, rank == 0);
  if (rank == 0) {
    const eval::EvalReport alone = evaluator.evaluate(trainer.model());
    ASSERT_TRUE(alone.fid && alone.fid_floor);
    EXPECT_EQ(shared->fid_real_sets_computed, 5);
    for (const auto& [name, got, want] :
         {std::tuple{"FID A->B", &shared->fid_a_to_b, &alone.fid_a_to_b},
          std::tuple{"FID B->A", &shared->fid_b_to_a, &alone.fid_b_to_a},
          std::tuple{"baseline A->B", &shared->baseline_a_to_b, &alone.baseline_a_to_b},
          std::tuple{"baseline B->A", &shared->baseline_b_to_a, &alone.baseline_b_to_a},
          std::tuple{"floor A", &shared->floor_a, &alone.floor_a},
          std::tuple{"floor B", &shared->floor_b, &alone.floor_b}}) {
      expect_close(got->fid, want->fid, std::string(name) + " FID");
      expect_close(got->kid, want->kid, std::string(name) + " KID");
      EXPECT_EQ(got->kid_std.has_value(), want->kid_std.has_value()) << name;
      if (got->kid_std && want->kid_std) {
        expect_close(*got->kid_std, *want->kid_std, std::string(name) + " KID std");
      }
    }
    for (const auto& [name, got, want] :
         {std::tuple{"checkerboard A->B", &shared->checkerboard_a_to_b, &alone.checkerboard_a_to_b},
          std::tuple{"checkerboard B->A", &shared->checkerboard_b_to_a,
                     &alone.checkerboard_b_to_a}}) {
      ASSERT_GT(shared->checkerboard_period, 0);
      expect_close(got->translated, want->translated, std::string(name) + " translated");
      expect_close(got->baseline, want->baseline, std::string(name) + " baseline");
      expect_close(got->peak_real, want->peak_real, std::string(name) + " real");
    }
    expect_close(shared->translation_psnr_db, alone.translation_psnr_db, "PSNR");
    expect_close(shared->translation_ssim, alone.translation_ssim, "SSIM");
    expect_close(shared->colorized_psnr_db, alone.colorized_psnr_db, "colorized PSNR");
    expect_close(shared->cycle_b_l1, alone.cycle_b_l1, "cycle B L1");
    expect_close(shared->colorfulness_translated, alone.colorfulness_translated, "colorfulness");
    std::printf(
        "%d rank(s): FID A->B %.12g (one process: relative difference %.3g), KID %.12g (%.3g)\n",
        world, shared->fid_a_to_b.fid,
        std::abs(shared->fid_a_to_b.fid - alone.fid_a_to_b.fid) / alone.fid_a_to_b.fid,
        shared->fid_a_to_b.kid,
        std::abs(shared->fid_a_to_b.kid - alone.fid_a_to_b.kid) / alone.fid_a_to_b.kid);
  }
  comm.barrier();
}

// The best value and step the manifest of ckpt_best.pt records.
std::pair<double, int64_t> recorded_best(const CheckpointStore& store) {
  const nlohmann::json metadata = store.verify(store.best_path());
  return {metadata.at("best").at("value").get<double>(), metadata.at("step").get<int64_t>()};
}

// Rewrites the value ckpt_best.json records (the .pt's CRC is unaffected).
void set_recorded_best(const CheckpointStore& store, double value) {
  const std::string path = fs::path(store.best_path()).replace_extension(".json").string();
  nlohmann::json manifest = nlohmann::json::parse(read_file(path));
  manifest["metadata"]["best"]["value"] = value;
  write_file_atomic(path, manifest.dump(2));
}

double fid_at(const std::string& run_dir, int64_t step) {
  const nlohmann::json report =
      nlohmann::json::parse(read_file(eval::eval_report_path(run_dir, step)));
  return report.at("fid").at("AtoB").at("fid").get<double>();
}

TEST(BestCheckpoint, FollowsTheLowestFidThroughRotationAndResume) {
  SKIP_WITHOUT_WEIGHTS();
  parallel::MpiCommunicator comm;
  if (comm.size() > 1) GTEST_SKIP() << "one rank";
  const std::string data = testing::fresh_dir("best_data");
  cg::testing::write_eval_dataset(data, 6, 5, 21);
  const eval::Evaluator evaluator(data, 1, 3, fid_options());
  auto s = testing::seed_setup(testing::fresh_dir("best_run"));
  s.train.eval_every = 2;
  s.train.checkpoint_every = 1;
  s.train.keep_checkpoints = 1;
  auto source = testing::make_source(s, 16);
  const auto run = [&](int64_t steps) {
    auto o = s;
    o.train.steps = steps;
    o.train.resume = "auto";
    Trainer trainer(o.train, o.model, *source);
    trainer.set_evaluator(&evaluator);
    trainer.train();
    return trainer.best();
  };
  const auto lowest = [&](std::initializer_list<int64_t> steps) {
    std::pair<double, int64_t> best{1e300, -1};
    for (int64_t step : steps) {
      best = std::min(best, std::pair<double, int64_t>{fid_at(s.train.run_dir, step), step});
    }
    return best;
  };

  const auto after_6 = run(6);
  const CheckpointStore store(s.train.run_dir + "/checkpoints", 1);
  ASSERT_TRUE(after_6.has_value());
  EXPECT_EQ(*after_6, lowest({2, 4, 6}));
  EXPECT_EQ(recorded_best(store), *after_6);
  {  // The run summary: the last evaluation (step 6) and the best, with its report.
    const nlohmann::json summary =
        nlohmann::json::parse(read_file(eval_summary_path(s.train.run_dir)));
    EXPECT_EQ(summary.at("last").at("step"), 6);
    EXPECT_EQ(summary.at("last").at("report").at("fid").at("AtoB").at("fid").get<double>(),
              fid_at(s.train.run_dir, 6));
    EXPECT_EQ(summary.at("best").at("metric"), "fid-AtoB");
    EXPECT_EQ(summary.at("best").at("value").get<double>(), after_6->first);
    EXPECT_EQ(summary.at("best").at("step").get<int64_t>(), after_6->second);
    EXPECT_EQ(summary.at("best").at("checkpoint"), store.best_path());
    EXPECT_EQ(summary.at("best").at("report").at("fid").at("AtoB").at("fid").get<double>(),
              after_6->first);
  }
  ASSERT_EQ(store.list().size(), 1u);  // rotation kept ckpt_6 and left the best alone
  EXPECT_EQ(fs::path(store.list()[0]).filename(), "ckpt_00000006.pt");

  // Resumed, the run compares with the recorded best: after 8 and 10 it is the lowest of all.
  const auto after_10 = run(10);
  EXPECT_EQ(*after_10, lowest({2, 4, 6, 8, 10}));
  EXPECT_EQ(recorded_best(store), *after_10);

  // A recorded best no evaluation can beat stays; one every evaluation beats is replaced.
  set_recorded_best(store, -1.0);
  run(12);
  EXPECT_EQ(recorded_best(store).first, -1.0);
  EXPECT_EQ(recorded_best(store).second, after_10->second);
  set_recorded_best(store, 1e9);
  const auto after_14 = run(14);
  EXPECT_EQ(*after_14, std::make_pair(fid_at(s.train.run_dir, 14), int64_t{14}));
  EXPECT_EQ(recorded_best(store), *after_14);

  // It is a full checkpoint: a run can resume from it.
  auto o = s;
  o.train.steps = 20;
  Trainer from_best(o.train, o.model, *source);
  ASSERT_TRUE(from_best.resume(store.best_path()));
  EXPECT_EQ(from_best.current_step(), 14);
}

}  // namespace
}  // namespace cg::train
