#pragma once
// The CycleGAN training loop. One step, in the seed's order:
//   (1) D_B on real B (target 1) and a pooled fake G(A) (target 0)
//   (2) D_A on real A (target 1) and a pooled fake F(B) (target 0)
//   (3) G and F together on adversarial (target 1) + cycle + identity, D_A and D_B frozen.
// The trainer owns the parts of a run and drives them: what a checkpoint holds and the
// resume (train/training_state.h), the replicas of a data-parallel run (train/replicas.h),
// the best checkpoint (train/best_checkpoint.h), and what the run reports: metrics
// records, sample grids, evaluation logs, the progress line (train/run_report.h).
#include <torch/torch.h>

#include <array>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "data/unpaired_source.h"
#include "eval/evaluator.h"
#include "model/autocast.h"
#include "model/cycle_gan.h"
#include "model/image_pool.h"
#include "parallel/communicator.h"
#include "parallel/gradient_reducer.h"
#include "train/best_checkpoint.h"
#include "train/checkpoint_store.h"
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
  /// in every checkpoint's manifest. Seeds the global torch RNG with options.seed and
  /// initialises the weights N(0, 0.02). With a communicator (data-parallel: it must
  /// outlive the trainer), every rank checks that all ranks build the same parameter
  /// names and shapes, takes rank 0's state, and averages gradients before each
  /// optimizer step; only rank 0 writes checkpoints and samples.
  Trainer(TrainerOptions options, model::CycleGanOptions model_options,
          data::UnpairedSource& source, nlohmann::json run_config = nlohmann::json::object(),
          parallel::Communicator* comm = nullptr, parallel::ReducerOptions reducer_options = {});

  /// Runs one step on `batch` (moved to the device) at the current step's learning rate
  /// and advances the step counter. Does not read from the source.
  StepLosses step(const data::UnpairedBatch& batch);

  /// The phases of step(), in order; public so tests can check each one alone.
  struct Forward {
    torch::Tensor real_a, real_b;  ///< the batch on the device
    torch::Tensor fake_b, fake_a;  ///< G(real_a), F(real_b), with their autograd graphs
  };
  /// Sets this step's learning rates, moves the batch to the device, runs G and F.
  Forward forward_generators(const data::UnpairedBatch& batch);
  /// Updates D_B on real B and a pooled detached fake B; returns its loss.
  torch::Tensor update_d_b(const Forward& fwd);
  /// Updates D_A on real A and a pooled detached fake A; returns its loss.
  torch::Tensor update_d_a(const Forward& fwd);
  /// The generators' loss terms of a step, weighted as they enter `total` (scalars).
  struct GeneratorLosses {
    torch::Tensor g_adv, f_adv;      ///< adversarial terms of G (A->B) and F (B->A)
    torch::Tensor cycle_a, cycle_b;  ///< lambda * L1 of the two cycles
    torch::Tensor idt_a, idt_b;      ///< identity terms (zero when identity is off)
    torch::Tensor total;
  };
  /// Updates G and F with D_A and D_B frozen; returns the loss terms.
  GeneratorLosses update_generators(const Forward& fwd);

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
  /// Runs that evaluation now (on every rank; a no-op without an evaluator). Returns rank
  /// 0's report (the image scores only on other ranks), or nullopt without an evaluator.
  std::optional<eval::EvalReport> evaluate();

  /// The best options.best_metric value so far and the step it was reached at (rank 0;
  /// carried across resumes by ckpt_best.json), or nullopt before the first FID/KID.
  std::optional<std::pair<double, int64_t>> best() const { return best_.best(); }

  /// After every step, train() calls `poll` (a signal number, 0 for none); when any rank
  /// reports one, all ranks write a checkpoint of that step and train() returns early.
  void set_stop_poll(std::function<int()> poll) { stop_poll_ = std::move(poll); }
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
  double comm_wait_seconds() const { return comm_wait_seconds_; }
  int64_t current_step() const { return step_; }
  /// Steps whose updates were dropped for non-finite gradients (see --on-nonfinite); under
  /// fp16 also the steps a loss scaler skipped (see GradScaler).
  int64_t skipped_steps() const { return skipped_steps_; }
  /// The fp16 loss scalers of the generators' and the discriminators' optimizers (disabled
  /// in fp32 and bf16 runs).
  const GradScaler& scaler_g() const { return scaler_g_; }
  const GradScaler& scaler_d_a() const { return scaler_d_a_; }
  const GradScaler& scaler_d_b() const { return scaler_d_b_; }
  model::CycleGan& model() { return model_; }
  torch::optim::Optimizer& optimizer_g() { return *opt_g_; }
  CheckpointStore& checkpoints() { return checkpoints_; }

 private:
  // evaluate() without the best checkpoint: train() writes that after the step's regular one.
  std::optional<eval::EvalReport> score();
  // Rank 0: writes the best checkpoint when `report` improved on the best so far.
  void save_best(const eval::EvalReport& report);
  void set_learning_rates();
  // `name`: "G", "D_A" or "D_B", for the messages about dropped updates.
  void update(const char* name, const torch::Tensor& loss, torch::optim::Optimizer& optimizer,
              parallel::GradientReducer* reducer, GradScaler& scaler);
  void backward(const torch::Tensor& loss, parallel::GradientReducer* reducer);
  // The parts a checkpoint holds, as a view of this trainer's members.
  TrainingState training_state();
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int world() const { return comm_ ? comm_->size() : 1; }
  int agreed_stop_signal();
  StepRecord step_record(const StepLosses& losses, int64_t images, double data_wait,
                         double step_seconds, int64_t peak_bytes) const;

  TrainerOptions options_;
  data::UnpairedSource& source_;
  nlohmann::json run_config_;
  torch::Device device_;
  model::CycleGan model_;
  std::unique_ptr<torch::optim::Optimizer> opt_g_, opt_d_a_, opt_d_b_;
  model::ImagePool pool_a_, pool_b_;
  CheckpointStore checkpoints_;
  parallel::Communicator* comm_;
  std::unique_ptr<parallel::GradientReducer> reduce_g_, reduce_d_a_, reduce_d_b_;
  double identity_weight_;
  // Forwards run under this autocast (off in fp32): one guard per forward phase, so that
  // the cached low-precision weight copies end before an optimizer changes the weights.
  model::AutocastState autocast_;
  GradScaler scaler_g_, scaler_d_a_, scaler_d_b_;  // enabled in fp16 runs only
  int64_t step_ = 0;
  NonFiniteSteps nonfinite_;
  int64_t skipped_steps_ = 0;
  // The updates of this step dropped for non-finite gradients ("G", "D_A", "D_B").
  std::vector<std::string> dropped_updates_;
  bool scaler_skipped_ = false;          // an update of this step was skipped by a scaler
  std::array<double, 3> loss_scales_{};  // G, D_A, D_B after the last step (fp16)
  PeakMemory peak_memory_;               // of each step in train()
  std::set<int64_t> inject_nonfinite_;   // test hook: steps whose loss is made NaN
  double comm_wait_seconds_ = 0;
  RunReport report_;  // metrics sinks, samples, evaluation logs
  const eval::Evaluator* evaluator_ = nullptr;
  BestCheckpoint best_;  // rank 0's
  std::function<int()> stop_poll_;
  int stopped_by_ = 0;
  int64_t allreduce_bytes_per_step_ = 0;
  // Where the host spent the current step's time, reset when a step starts.
  struct StepTimes {
    double allreduce = 0, optimizer = 0;
  } step_times_;
};

}  // namespace cg::train
