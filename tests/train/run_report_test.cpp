// The step's record: make_step_record fills every field from the step's result and the
// loop's measurements (the learning rates as the optimizers held them, not recomputed),
// and a trainer's sinks get the schedule's rates of the steps they ran; the evaluations'
// reports and the run's summary of its last and best evaluation.
#include "train/run_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "common/file_util.h"
#include "train/lr_schedule.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

TEST(RunReport, StepRecordTakesEveryFieldFromTheResultAndTheLoop) {
  StepResult result;
  result.losses.d_a = 0.5;
  result.losses.g_total = 7;
  result.lr_g = 0.125;  // not a schedule's value: the record copies what the step used
  result.lr_d = 0.375;
  result.scaler_skipped = true;
  result.loss_scales = {1024, 512, 0.5};
  result.allreduce_seconds = 0.25;
  result.optimizer_seconds = 0.125;
  result.allreduce_bytes = 4096;
  StepContext context;
  context.step = 5;
  context.total_steps = 9;
  context.images = 8;
  context.step_seconds = 1.0;
  context.data_wait_seconds = 0.5;
  context.loader_queued = 2;
  context.peak_memory_bytes = 1 << 20;
  const StepRecord r = make_step_record(result, context, torch::kCPU);
  EXPECT_EQ(r.step, 5);
  EXPECT_EQ(r.total_steps, 9);
  EXPECT_EQ(r.images, 8);
  EXPECT_EQ(r.losses.d_a, 0.5);
  EXPECT_EQ(r.losses.g_total, 7);
  EXPECT_EQ(r.lr_g, 0.125);
  EXPECT_EQ(r.lr_d, 0.375);
  EXPECT_EQ(r.step_seconds, 1.0);
  EXPECT_EQ(r.data_wait_seconds, 0.5);
  EXPECT_EQ(r.allreduce_seconds, 0.25);
  EXPECT_EQ(r.optimizer_seconds, 0.125);
  EXPECT_EQ(r.compute_seconds, 0.125) << "the step less data wait, all-reduce and optimizer";
  EXPECT_EQ(r.allreduce_bytes, 4096);
  EXPECT_EQ(r.loader_queued, 2);
  EXPECT_EQ(r.peak_memory_bytes, 1 << 20);
  EXPECT_EQ(r.cuda_allocated_bytes, 0);
  EXPECT_EQ(r.loss_scale_g, 1024);
  EXPECT_EQ(r.loss_scale_d_a, 512);
  EXPECT_EQ(r.loss_scale_d_b, 0.5);
  EXPECT_TRUE(r.update_skipped) << "a scaler's skip";

  result.scaler_skipped = false;
  EXPECT_FALSE(make_step_record(result, context, torch::kCPU).update_skipped);
  result.dropped_updates = {"D_B"};
  EXPECT_TRUE(make_step_record(result, context, torch::kCPU).update_skipped) << "a dropped update";
  context.step_seconds = 0.5;
  EXPECT_EQ(make_step_record(result, context, torch::kCPU).compute_seconds, 0) << "never below 0";
}

class RecordingSink : public MetricsSink {
 public:
  void on_step(const StepRecord& record) override { steps.push_back(record); }
  void on_checkpoint(const CheckpointRecord& /*record*/) override {}
  void on_eval(int64_t /*step*/, const eval::EvalReport& /*report*/) override {}
  std::vector<StepRecord> steps;
};

TEST(RunReport, ATrainersRecordsCarryTheScheduledRatesOfTheirSteps) {
  auto s = testing::paper_setup(testing::fresh_dir("run_report_rates"));
  s.train.steps = 4;  // the paper setup decays over the second half
  auto source = testing::make_source(s, 8);
  Trainer trainer(s.train, s.model, *source);
  RecordingSink sink;
  trainer.add_metrics_sink(&sink);
  trainer.train();
  ASSERT_EQ(sink.steps.size(), 4u);
  for (const StepRecord& r : sink.steps) {
    const double factor = lr_factor(r.step - 1, r.total_steps, s.train.lr_decay_start);
    EXPECT_EQ(r.lr_g, s.train.lr_g * factor) << "step " << r.step;
    EXPECT_EQ(r.lr_d, s.train.lr_d * factor) << "step " << r.step;
    EXPECT_FALSE(r.update_skipped) << "step " << r.step;
    EXPECT_EQ(r.images, 2 * s.train.batch_size);
  }
  EXPECT_LT(sink.steps.back().lr_g, s.train.lr_g) << "the schedule did not decay";
}

eval::EvalReport fid_report(double fid_a_to_b, double baseline) {
  eval::EvalReport r;
  r.fid = true;
  r.fid_a_to_b.fid = fid_a_to_b;
  r.fid_a_to_b.images = 25;
  r.fid_a_to_b.reference_images = 25;
  r.baseline_a_to_b.fid = baseline;
  r.fid_test_images_a = r.fid_test_images_b = 100;
  r.checkerboard_period = 8;
  r.checkerboard_a_to_b.translated = 5.0;
  r.checkerboard_a_to_b.baseline = 0.5;
  return r;
}

TEST(RunReport, EvalSummaryHoldsTheLastAndTheBestEvaluation) {
  TrainerOptions options;
  options.run_dir = testing::fresh_dir("run_report_summary");
  RunReport report(options);
  const std::string path = eval_summary_path(options.run_dir);
  report.eval_summary(eval::Metric::kFidAtoB, std::nullopt, "");
  EXPECT_FALSE(std::filesystem::exists(path)) << "no evaluation, no summary";

  report.eval(2, fid_report(150.5, 200));
  report.eval(4, fid_report(160.25, 200));
  const nlohmann::json step_2 =
      nlohmann::json::parse(read_file(eval::eval_report_path(options.run_dir, 2)));
  EXPECT_EQ(step_2.at("fid").at("baseline_AtoB").at("fid"), 200);
  EXPECT_EQ(step_2.at("fid").at("AtoB").at("note"), "comparable only at equal N");
  EXPECT_FALSE(step_2.at("fid").at("whole_test_split").get<bool>());
  EXPECT_EQ(step_2.at("checkerboard").at("AtoB").at("translated"), 5.0);
  EXPECT_EQ(step_2.at("checkerboard").at("AtoB").at("baseline"), 0.5);

  report.eval_summary(eval::Metric::kFidAtoB, std::pair{150.5, int64_t{2}}, "ckpt_best.pt");
  nlohmann::json summary = nlohmann::json::parse(read_file(path));
  EXPECT_EQ(summary.at("last").at("step"), 4);
  EXPECT_EQ(summary.at("last").at("report").at("fid").at("AtoB").at("fid"), 160.25);
  EXPECT_EQ(summary.at("best").at("metric"), "fid-AtoB");
  EXPECT_EQ(summary.at("best").at("value"), 150.5);
  EXPECT_EQ(summary.at("best").at("step"), 2);
  EXPECT_EQ(summary.at("best").at("checkpoint"), "ckpt_best.pt");
  EXPECT_EQ(summary.at("best").at("report"), step_2) << "the best step's eval/step_N.json";

  // A best of an earlier session whose report is gone: its value, no report.
  report.eval_summary(eval::Metric::kFidAtoB, std::pair{99.0, int64_t{1}}, "ckpt_best.pt");
  summary = nlohmann::json::parse(read_file(path));
  EXPECT_EQ(summary.at("best").at("value"), 99.0);
  EXPECT_TRUE(summary.at("best").at("report").is_null());
  // Without FID/KID: no best.
  report.eval_summary(eval::Metric::kFidAtoB, std::nullopt, "");
  EXPECT_TRUE(nlohmann::json::parse(read_file(path)).at("best").is_null());
}

TEST(RunReport, EvalSummaryLineShowsEachScoreBesideDoingNothing) {
  eval::EvalReport r = fid_report(150.5, 200);
  r.paired = true;
  r.translation_psnr_db = 16.1;
  r.baseline_psnr_db = 19.1;
  const std::string line = r.summary();
  EXPECT_NE(line.find("test PSNR 16.10 dB (do nothing 19.10 dB)"), std::string::npos) << line;
  EXPECT_NE(line.find("FID A->B 150.50 (do nothing 200.00)"), std::string::npos) << line;
  EXPECT_NE(line.find("checkerboard (period 8, real = 1) A->B 5.00 (do nothing 0.50)"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("a subset of the test split's 100 and 100"), std::string::npos) << line;
  EXPECT_NE(line.find("comparable only at equal N"), std::string::npos) << line;
  r.fid_a_to_b.images = r.fid_b_to_a.images = 100;
  EXPECT_NE(r.summary().find("(the whole test split)"), std::string::npos) << r.summary();
}

}  // namespace
}  // namespace cg::train
