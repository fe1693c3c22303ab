#pragma once
// What a run tells the outside: the metrics sinks' records (steps, checkpoints,
// evaluations, sample grids), the sample grids under <run dir>/samples, the evaluation
// log line and <run dir>/eval/step_N.json, and the text of the progress line. Called from
// the training thread only; not thread-safe.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/unpaired_source.h"
#include "eval/eval_report.h"
#include "model/cycle_gan.h"
#include "train/cycle_gan_step.h"
#include "train/metrics_sink.h"
#include "train/trainer_options.h"

namespace cg::train {

/// What the loop measured around one step; the step's own part is its StepResult.
struct StepContext {
  int64_t step = 0;               ///< steps done after this one (continues across resumes)
  int64_t total_steps = 0;        ///< steps the run will do
  int64_t images = 0;             ///< images this rank read for the step (A and B)
  double step_seconds = 0;        ///< the whole step, data wait included
  double data_wait_seconds = 0;   ///< waiting for the batch from the loader
  int64_t loader_queued = 0;      ///< batches ready in the loader's queue after the step
  int64_t peak_memory_bytes = 0;  ///< the step's peak (train/peak_memory.h); 0: not measured
};

/// The record of one step, every field of it: `result`'s losses, learning rates (as the
/// optimizers held them), loss scales, skipped updates, all-reduce and optimizer times and
/// bytes; `context`'s counts, times and memory; compute_seconds (step_seconds less the data
/// wait, all-reduce and optimizer times, at least 0); on a CUDA `device`, the memory its
/// allocator holds now.
StepRecord make_step_record(const StepResult& result, const StepContext& context,
                            const torch::Device& device);

class RunReport {
 public:
  /// Takes the run directory and the device and dtype from `options`.
  explicit RunReport(const TrainerOptions& options);

  /// Also sends the records to `sink`, which must outlive the report; sinks are called in
  /// the order they were added.
  void add_sink(MetricsSink* sink) { sinks_.push_back(sink); }
  bool has_sinks() const { return !sinks_.empty(); }

  /// Hands the step's record (make_step_record on the run's device) to every sink.
  void step(const StepResult& result, const StepContext& context);
  /// Hands `record` to every sink.
  void checkpoint(const CheckpointRecord& record);
  /// Writes the sample grid of the first (up to) 4 images of `batch` after `step` steps
  /// (rows a, G(a), F(G(a)) and b, F(b), G(F(b)), for gray A and colour B each with G's output
  /// on its gray input's luminance, G(a) on a and G(F(b)) on F(b), as --keep-luma colorizes;
  /// no grad, in the run's dtype) as
  /// <run dir>/samples/step_%08d.png and hands it to every sink. Rank 0 only.
  /// `colour_gain`: the chroma gain of the colorized column (gray -> colour models).
  void samples(model::CycleGan& model, const data::UnpairedBatch& batch, int64_t step,
               double colour_gain = 1.0);
  /// Writes `report` (with "step") as <run dir>/eval/step_N.json, logs its scores on one
  /// line and hands it to every sink. Rank 0 only. Throws FileError when it cannot write.
  void eval(int64_t step, const eval::EvalReport& report);
  /// At the end of a run that evaluated (after eval() was called at least once; otherwise
  /// does nothing): logs the last evaluation and the best by `metric` (`best`: its value
  /// and step, as BestCheckpoint::best() gives it, nullopt without FID/KID) and writes both
  /// as eval_summary_path(): {"last": {"step", "report"}, "best": {"metric", "value",
  /// "step", "checkpoint", "report" (that step's eval/step_N.json, null when it is not
  /// there)} or null}. Rank 0 only. Throws FileError when it cannot write.
  void eval_summary(eval::Metric metric, const std::optional<std::pair<double, int64_t>>& best,
                    const std::string& best_checkpoint);

 private:
  std::string run_dir_;
  torch::Device device_;
  torch::Dtype dtype_;
  std::vector<MetricsSink*> sinks_;
  std::optional<std::pair<int64_t, eval::EvalReport>> last_eval_;  // step, report
};

/// Where RunReport::eval_summary writes: <run_dir>/eval/summary.json.
std::string eval_summary_path(const std::string& run_dir);

/// The progress line's text of one step: the losses, the step's peak memory in MiB and,
/// when `loss_scales` is given (fp16), the loss scales of G, D_A and D_B.
std::string progress_text(const StepLosses& losses, int64_t peak_bytes,
                          const std::array<double, 3>* loss_scales);

}  // namespace cg::train
