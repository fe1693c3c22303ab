#pragma once
// One CycleGAN training step, in the seed's order:
//   (1) D_B on real B (target 1) and a pooled fake G(A) (target 0)
//   (2) D_A on real A (target 1) and a pooled fake F(B) (target 0)
//   (3) G and F together on adversarial (target 1) + cycle + identity, D_A and D_B frozen.
// Each update is backward (the loss scaled in fp16 runs), then (data-parallel) the mean of
// the gradients over ranks, then the optimizer step unless the gradients are not finite.
// CycleGanStep owns what a step changes: the nets, their three optimizers, the image pools,
// the fp16 loss scalers and the gradient reducers. It needs no run directory, data source
// or step counter: the loop (train/trainer.h) feeds it batches, sets its learning rates
// from the schedule, applies --on-nonfinite to what it reports, and keeps the run's step,
// checkpoints and records. Not thread-safe: one thread drives it. On the CPU with two
// intra-op threads and one rank, a phase's two independent halves (G's and F's forward,
// the two discriminators' updates, the generators' A and B cycles) run side by side, one
// per thread, with the same results bit for bit.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/unpaired_source.h"
#include "model/autocast.h"
#include "model/cycle_gan.h"
#include "model/image_pool.h"
#include "parallel/communicator.h"
#include "parallel/gradient_reducer.h"
#include "train/grad_scaler.h"
#include "train/metrics_sink.h"
#include "train/trainer_options.h"

namespace cg::train {

/// What one step did: its losses and how its three updates went. The same on every rank,
/// except the losses (each rank's own batch) and the times.
struct StepResult {
  StepLosses losses;
  double lr_g = 0;  ///< learning rate of G and F in this step, read from their optimizer
  double lr_d = 0;  ///< learning rate of D_A and D_B in this step, read from D_A's optimizer
  /// The updates dropped for a non-finite gradient after the all-reduce ("D_B", "D_A", "G",
  /// in the order they ran). Empty under fp16, where the scalers skip such updates.
  std::vector<std::string> dropped_updates;
  /// fp16: a loss scaler skipped an update of this step (its gradients overflowed; that
  /// scaler's scale backed off).
  bool scaler_skipped = false;
  /// fp16: the loss scales of G, D_A and D_B after this step (the ones the next step
  /// multiplies its losses by); zeros when losses are not scaled (fp32, bf16).
  std::array<double, 3> loss_scales{};
  double allreduce_seconds = 0;  ///< waiting for gradient all-reduces after backward
  double optimizer_seconds = 0;  ///< finiteness checks, unscaling and the optimizer steps
  int64_t allreduce_bytes = 0;   ///< gradient bytes this rank all-reduced (0 on one rank)

  /// Whether an update of this step was not applied: dropped for a non-finite gradient, or
  /// skipped by an fp16 loss scaler.
  bool update_skipped() const { return !dropped_updates.empty() || scaler_skipped; }
};

class CycleGanStep {
 public:
  /// Seeds the global torch RNG with options.seed, builds the nets of `model_options` with
  /// weights N(0, 0.02) on options.device in options.dtype, their optimizers
  /// (options.optimizer at options.lr_g for G and F, options.lr_d for D_A and D_B), the
  /// image pools (options.pool_size, seeded from options.seed) and, with options.precision
  /// fp16, the loss scalers. Of `options` it reads those fields and the loss settings
  /// (gan_loss, lambda_cycle, identity_weight, identity_relative), the optimizer settings
  /// and precision; nothing of the run directory or the schedule. With `comm` (which must
  /// outlive the step) of more than one rank, every update averages the gradients over the
  /// ranks first (reducer_options); the replicas must start equal (the trainer sends rank
  /// 0's state, train/replicas.h). Throws ConfigError for a CUDA device that is not there
  /// and for mixed precision without float32 master weights.
  CycleGanStep(const TrainerOptions& options, const model::CycleGanOptions& model_options,
               parallel::Communicator* comm = nullptr,
               parallel::ReducerOptions reducer_options = {});
  CycleGanStep(const CycleGanStep&) = delete;
  CycleGanStep& operator=(const CycleGanStep&) = delete;

  /// Runs the three updates on `batch` at the current learning rates. batch.a:
  /// (N, channels_a, H, W), batch.b: (N, channels_b, H, W), in the model's image range, on
  /// any device (moved to the step's device and dtype). Under kStop nothing here stops:
  /// the caller applies --on-nonfinite to the result.
  StepResult step(const data::UnpairedBatch& batch);

  /// Sets the learning rates of the next steps to `factor` times options.lr_g (G and F)
  /// and options.lr_d (D_A and D_B): the schedule's factor (train/lr_schedule.h). The
  /// optimizers start at factor 1.
  void set_learning_rate_factor(double factor);

  /// The phases of step(), in order; public so tests can check each one alone.
  struct Forward {
    torch::Tensor real_a;  ///< (N, channels_a, H, W) the batch's A on the device
    torch::Tensor real_b;  ///< (N, channels_b, H, W) the batch's B on the device
    torch::Tensor fake_b;  ///< G(real_a): (N, channels_b, H, W), with its autograd graph
    torch::Tensor fake_a;  ///< F(real_b): (N, channels_a, H, W), with its autograd graph
  };
  /// Moves the batch to the device and dtype and runs G and F (under autocast when mixed).
  Forward forward_generators(const data::UnpairedBatch& batch);
  /// Updates D_B on real B and a pooled detached fake B; returns its loss (scalar).
  torch::Tensor update_d_b(const Forward& fwd);
  /// Updates D_A on real A and a pooled detached fake A; returns its loss (scalar).
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

  model::CycleGan& model() { return model_; }
  const model::CycleGan& model() const { return model_; }
  torch::optim::Optimizer& optimizer_g() { return *opt_g_; }
  torch::optim::Optimizer& optimizer_d_a() { return *opt_d_a_; }
  torch::optim::Optimizer& optimizer_d_b() { return *opt_d_b_; }
  model::ImagePool& pool_a() { return pool_a_; }
  model::ImagePool& pool_b() { return pool_b_; }
  /// The fp16 loss scalers of the generators' and the discriminators' optimizers (disabled
  /// in fp32 and bf16 runs).
  GradScaler& scaler_g() { return scaler_g_; }
  GradScaler& scaler_d_a() { return scaler_d_a_; }
  GradScaler& scaler_d_b() { return scaler_d_b_; }
  const GradScaler& scaler_g() const { return scaler_g_; }
  const GradScaler& scaler_d_a() const { return scaler_d_a_; }
  const GradScaler& scaler_d_b() const { return scaler_d_b_; }
  const torch::Device& device() const { return device_; }
  /// Steps so far with an update not applied (StepResult::update_skipped()).
  int64_t update_skipped_steps() const { return update_skipped_steps_; }
  /// Seconds spent waiting for gradient all-reduces after backward (communication the
  /// overlap did not hide), summed over all steps so far.
  double comm_wait_seconds() const { return comm_wait_seconds_; }

 private:
  // Backward of `loss` (scaled), the all-reduce and apply_update. `name`: "G", "D_A" or
  // "D_B"; what the update did goes to `result`.
  void update(const char* name, const torch::Tensor& loss, torch::optim::Optimizer& optimizer,
              parallel::GradientReducer* reducer, GradScaler& scaler, StepResult& result);
  // The finiteness check (or the fp16 unscale) and the optimizer's step.
  void apply_update(const char* name, torch::optim::Optimizer& optimizer, GradScaler& scaler,
                    StepResult& result);
  void backward(const torch::Tensor& loss, parallel::GradientReducer* reducer, StepResult& result);
  // One of the nets G, F, D_A, D_B of the CycleGan, as a member of its Impl.
  using Net = torch::Tensor (model::CycleGanImpl::*)(const torch::Tensor&);
  // One discriminator's update: its loss on `real` and on a pooled, detached `fake`.
  torch::Tensor update_discriminator(const char* name, Net discriminator, const torch::Tensor& real,
                                     const torch::Tensor& fake, model::ImagePool& pool,
                                     torch::optim::Optimizer& optimizer,
                                     parallel::GradientReducer* reducer, GradScaler& scaler,
                                     StepResult& result);
  // update_d_b and update_d_a with what the update did going to `result`.
  torch::Tensor update_d_b(const Forward& fwd, StepResult& result);
  torch::Tensor update_d_a(const Forward& fwd, StepResult& result);
  // One half of the generators' loss (under autocast when mixed): `translated` (G(a) or
  // F(b)) judged by `judge` (D_B or D_A), its cycle through `back` (F or G) to `real`, and
  // with identity on, `back` on `real` itself (zero otherwise); `sum` is the half's loss,
  // which its backward pass takes when the halves run side by side.
  struct GeneratorHalf {
    torch::Tensor adv, cycle, idt, sum;
  };
  GeneratorHalf generator_half(Net judge, Net back, const torch::Tensor& translated,
                               const torch::Tensor& real);
  // Whether a phase's A and B halves run side by side (train/side_by_side.h): on the CPU,
  // on one rank, with two intra-op threads. The results are the same bits either way.
  bool halves_side_by_side() const;
  // Runs the two halves of a phase, side by side where halves_side_by_side().
  void run_halves(const std::function<void()>& half_a, const std::function<void()>& half_b);

  TrainerOptions options_;
  torch::Device device_;
  model::CycleGan model_;
  std::unique_ptr<torch::optim::Optimizer> opt_g_, opt_d_a_, opt_d_b_;
  model::ImagePool pool_a_, pool_b_;
  std::unique_ptr<parallel::GradientReducer> reduce_g_, reduce_d_a_, reduce_d_b_;
  double identity_weight_;
  // Forwards run under this autocast (off in fp32): one guard per forward phase, so that
  // the cached low-precision weight copies end before an optimizer changes the weights.
  model::AutocastState autocast_;
  GradScaler scaler_g_, scaler_d_a_, scaler_d_b_;  // enabled in fp16 runs only
  int64_t allreduce_bytes_per_step_ = 0;
  int64_t update_skipped_steps_ = 0;
  double comm_wait_seconds_ = 0;
  // What the current step's updates did, reset when a step starts.
  StepResult current_;
};

}  // namespace cg::train
