#pragma once
// The CycleGAN training loop around one CycleGanStep (train/cycle_gan_step.h): the step
// counter and the learning-rate schedule, batches from the data source, the --on-nonfinite
// policy, stop requests agreed by all ranks, evaluations, sample grids and checkpoints. The
// trainer owns the parts of a run and drives them: what a checkpoint holds and the resume
// (train/training_state.h), the replicas of a data-parallel run (train/replicas.h), the
// best checkpoint (train/best_checkpoint.h), and what the run reports: metrics records,
// sample grids, evaluation logs, the progress line (train/run_report.h).
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "data/unpaired_source.h"
#include "eval/colour_match.h"
#include "eval/evaluator.h"
#include "model/cycle_gan.h"
#include "parallel/communicator.h"
#include "parallel/gradient_reducer.h"
#include "train/best_checkpoint.h"
#include "train/checkpoint_store.h"
#include "train/cycle_gan_step.h"
#include "train/grad_scaler.h"
#include "train/metrics_sink.h"
#include "train/nonfinite.h"
#include "train/peak_memory.h"
#include "train/run_report.h"
#include "train/trainer_options.h"
#include "train/training_state.h"

namespace cg::train {

class Trainer {
 public:
  /// `source` must outlive the trainer. `run_config` (the resolved configuration) is stored
  /// in every checkpoint's manifest. Builds the step (CycleGanStep: seeds the global torch
  /// RNG with options.seed and initialises the weights N(0, 0.02)). With a communicator
  /// (data-parallel: it must outlive the trainer), every rank checks that all ranks build
  /// the same parameter names and shapes, takes rank 0's state, and averages gradients
  /// before each optimizer step; only rank 0 writes checkpoints and samples. Throws
  /// ConfigError when the source's channels are not the model's.
  Trainer(TrainerOptions options, model::CycleGanOptions model_options,
          data::UnpairedSource& source, nlohmann::json run_config = nlohmann::json::object(),
          parallel::Communicator* comm = nullptr, parallel::ReducerOptions reducer_options = {});

  /// Runs one step on `batch` at the current step's learning rate (the schedule over
  /// total_steps()), advances the step counter and applies --on-nonfinite (throws Error
  /// when it stops the run). Does not read from the source.
  StepLosses step(const data::UnpairedBatch& batch);

  /// Resumes if options.resume says so, then trains to total_steps() (or until a stop
  /// request, see set_stop_poll), writing samples,
  /// checkpoints (always one at the end) and progress lines, and handing a record of every
  /// step and checkpoint to the metrics sink, if one is set.
  void train();

  /// Also sends train()'s records (steps, checkpoints, evaluations, sample grids) to `sink`,
  /// which must outlive the trainer; sinks are called in the order they were added.
  void add_metrics_sink(MetricsSink* sink) { report_.add_sink(sink); }

  /// Every options.eval_every steps, all ranks score the model with `evaluator` (which must
  /// outlive the trainer; nullptr: no evaluations; every rank must set one), each its share
  /// of the test split; rank 0 logs the scores, writes them to <run dir>/eval/step_N.json,
  /// hands them to the metrics sinks and, when options.best_metric improved (FID/KID
  /// available), writes the full state as checkpoints/ckpt_best.pt.
  void set_evaluator(const eval::Evaluator* evaluator) { evaluator_ = evaluator; }
  /// Gray -> colour runs: `match` (which must outlive the trainer; nullptr: none) gives
  /// the chroma gain of the colorizations (eval/colour_match.h) for the current weights,
  /// which every checkpoint stores as "colour_gain" and the evaluations and the sample
  /// grids' colorized column apply. Every rank must set one when any does.
  void set_colour_match(const eval::ColourMatch* match) { colour_match_ = match; }
  /// Runs that evaluation now (on every rank; a no-op without an evaluator). Returns rank
  /// 0's report (the image scores only on other ranks), or nullopt without an evaluator.
  std::optional<eval::EvalReport> evaluate();

  /// The best options.best_metric value so far and the step it was reached at (rank 0;
  /// carried across resumes by ckpt_best.json), or nullopt before the first FID/KID.
  std::optional<std::pair<double, int64_t>> best() const { return best_.best(); }

  /// After every step, train() calls `poll` (a signal number, 0 for none); when any rank
  /// reports one, all ranks write a checkpoint of that step and train() returns early.
  void set_stop_poll(std::function<int()> poll) { stop_poll_ = std::move(poll); }
  /// Called once by train(), on every rank, when the run's state is in place (resumed from
  /// its checkpoint, or none was found) and before the first step: a resume that fails
  /// (a checkpoint of another model) ends train() before it.
  void set_start_hook(std::function<void()> hook) { start_hook_ = std::move(hook); }
  /// The signal that stopped train() early (0: it ran to the end).
  int stopped_by() const { return stopped_by_; }

  /// Writes a full-state checkpoint of the current step (rank 0; the other ranks wait at a
  /// barrier). Returns its path ("" on other ranks).
  std::string save_checkpoint();
  /// Throws naming the ranks when the replicas' parameters are not bitwise equal.
  void check_replicas();
  /// Restores the full state from `spec`: "auto" (the newest valid checkpoint of the run
  /// directory, falling back past corrupt ones) or a .pt path. Returns false when "auto"
  /// finds no checkpoint. Throws FileError/ConfigError on a corrupt or incompatible one.
  bool resume(const std::string& spec);

  int64_t total_steps() const;
  /// Seconds spent waiting for gradient all-reduces after backward (communication the
  /// overlap did not hide), summed over all steps so far.
  double comm_wait_seconds() const { return cycle_gan_step_.comm_wait_seconds(); }
  int64_t current_step() const { return step_; }
  /// Steps with an update not applied: dropped for a non-finite gradient (see
  /// --on-nonfinite) or, under fp16, skipped by a loss scaler (see GradScaler).
  int64_t skipped_steps() const { return cycle_gan_step_.update_skipped_steps(); }
  /// The fp16 loss scalers of the generators' and the discriminators' optimizers (disabled
  /// in fp32 and bf16 runs).
  const GradScaler& scaler_g() const { return cycle_gan_step_.scaler_g(); }
  const GradScaler& scaler_d_a() const { return cycle_gan_step_.scaler_d_a(); }
  const GradScaler& scaler_d_b() const { return cycle_gan_step_.scaler_d_b(); }
  model::CycleGan& model() { return cycle_gan_step_.model(); }
  /// The step the loop drives: nets, optimizers, pools, scalers.
  CycleGanStep& cycle_gan_step() { return cycle_gan_step_; }
  CheckpointStore& checkpoints() { return checkpoints_; }

 private:
  // step() as train() uses it: the step at this step's learning rate, the fault injection,
  // the step counter and --on-nonfinite.
  StepResult run_step(const data::UnpairedBatch& batch);
  // Logs fp16 overflows and hands the step's dropped updates to nonfinite_ (may throw).
  void account_nonfinite(const StepResult& result);
  // evaluate() without the best checkpoint: train() writes that after the step's regular one.
  std::optional<eval::EvalReport> score();
  // Rank 0: writes the best checkpoint when `report` improved on the best so far.
  void save_best(const eval::EvalReport& report);
  // The parts a checkpoint holds, as a view of this trainer's members.
  TrainingState training_state();
  // The colour gain for the current step's weights (1 without a ColourMatch); computed once
  // per step.
  double colour_gain();
  // What a checkpoint of `state` records beside it (checkpoint_metadata, the colour gain).
  nlohmann::json metadata(const TrainingState& state);
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int world() const { return comm_ ? comm_->size() : 1; }
  int agreed_stop_signal();

  TrainerOptions options_;
  data::UnpairedSource& source_;
  nlohmann::json run_config_;
  parallel::Communicator* comm_;
  CycleGanStep cycle_gan_step_;
  CheckpointStore checkpoints_;
  int64_t step_ = 0;  // steps done
  NonFiniteSteps nonfinite_;
  // Test hook (CYCLEGAN_TEST_NONFINITE, see injected_nonfinite_steps): the steps whose
  // D_B loss counts as NaN, and whether the running step is one (read by the gradient
  // hooks on D_B's parameters).
  std::set<int64_t> inject_nonfinite_;
  std::shared_ptr<bool> inject_now_ = std::make_shared<bool>(false);
  PeakMemory peak_memory_;  // of each step in train()
  RunReport report_;        // metrics sinks, samples, evaluation logs
  const eval::Evaluator* evaluator_ = nullptr;
  const eval::ColourMatch* colour_match_ = nullptr;
  std::pair<int64_t, double> colour_gain_{-1, 1.0};  // (step, gain) last computed
  BestCheckpoint best_;                              // rank 0's
  std::function<int()> stop_poll_;
  std::function<void()> start_hook_;
  int stopped_by_ = 0;
};

}  // namespace cg::train
