// The step's record: make_step_record fills every field from the step's result and the
// loop's measurements (the learning rates as the optimizers held them, not recomputed),
// and a trainer's sinks get the schedule's rates of the steps they ran.
#include "train/run_report.h"

#include <gtest/gtest.h>

#include <vector>

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

}  // namespace
}  // namespace cg::train
