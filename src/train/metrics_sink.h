#pragma once
// What the trainer tells a metrics backend, as plain values: no Prometheus (or any other
// backend) header is needed to produce them. The trainer calls the sink from its own
// thread, once per step, per checkpoint and per evaluation.
#include <cstdint>
#include <string>

#include "eval/eval_report.h"

namespace cg::train {

/// Loss values of one step, weighted as they enter the totals.
struct StepLosses {
  double d_a = 0, d_b = 0;          ///< discriminator losses
  double g_adv = 0, f_adv = 0;      ///< adversarial terms of G (A->B) and F (B->A)
  double cycle_a = 0, cycle_b = 0;  ///< lambda * |F(G(a)) - a|, lambda * |G(F(b)) - b|
  double idt_a = 0, idt_b = 0;      ///< identity terms |F(a) - a|, |G(b) - b| (weighted)
  double g_total = 0;               ///< sum of the six generator terms
};

/// One finished training step of this rank. Times are host wall-clock seconds; on CUDA the
/// step ends with a device-to-host copy of the losses, so step_seconds covers the GPU work,
/// while the split into phases follows where the host waited.
struct StepRecord {
  int64_t step = 0;         ///< steps done after this one (continues across resumes)
  int64_t total_steps = 0;  ///< steps the run will do
  int64_t images = 0;       ///< images this rank read for the step (A and B)
  StepLosses losses;
  double lr_g = 0, lr_d = 0;         ///< learning rates the step used (generators, discriminators)
  double step_seconds = 0;           ///< the whole step, data wait included
  double data_wait_seconds = 0;      ///< waiting for the batch from the loader
  double compute_seconds = 0;        ///< forward and backward passes
  double allreduce_seconds = 0;      ///< waiting for gradient all-reduces (not hidden by overlap)
  double optimizer_seconds = 0;      ///< the three optimizer steps
  int64_t allreduce_bytes = 0;       ///< gradient bytes this rank all-reduced (0 on one rank)
  int64_t loader_queued = 0;         ///< batches ready in the loader's queue after the step
  int64_t cuda_allocated_bytes = 0;  ///< CUDA memory held by tensors (0 on CPU)
  int64_t cuda_reserved_bytes = 0;   ///< CUDA memory held by the caching allocator (0 on CPU)
  /// The peak memory of this step on the run's device (train/peak_memory.h): on CPU the
  /// process' peak resident size, on CUDA the peak of bytes held by tensors. 0: not measured.
  int64_t peak_memory_bytes = 0;
  /// fp16 loss scales (train/grad_scaler.h) of the generators' and the discriminators'
  /// optimizers after this step's update (the scales the next step multiplies its losses
  /// by); 0 when the run does not scale losses (fp32, bf16).
  double loss_scale_g = 0, loss_scale_d_a = 0, loss_scale_d_b = 0;
  /// An optimizer update of the step was not applied (all ranks alike), for either of two
  /// causes: it was dropped for a non-finite gradient after the all-reduce (fp32, bf16; see
  /// TrainerOptions::on_nonfinite), or an fp16 loss scaler skipped it because its scaled
  /// gradients overflowed (train/grad_scaler.h; the scale backs off and the run goes on).
  bool update_skipped = false;
};

/// A checkpoint: rank 0 wrote it; the other ranks met it at the barrier before and left
/// the writing to rank 0.
struct CheckpointRecord {
  int64_t step = 0;
  double seconds = 0;    ///< time the checkpoint took on this rank, the barrier included
  double unix_time = 0;  ///< when this rank was done with it, seconds since the epoch
};

/// A sample grid (see image/sample_grid.h) as the PNG file the trainer wrote.
struct SampleImage {
  std::string png;  ///< the encoded PNG
  int64_t height = 0, width = 0, channels = 0;
};

/// Receives the trainer's records. Implementations must be cheap: on_step runs inside the
/// training loop. Not called concurrently.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual void on_step(const StepRecord& record) = 0;
  virtual void on_checkpoint(const CheckpointRecord& record) = 0;
  /// An evaluation on the test split after `step` steps (rank 0 only).
  virtual void on_eval(int64_t step, const eval::EvalReport& report) = 0;
  /// A sample grid written after `step` steps (rank 0 only). Ignored unless overridden.
  virtual void on_samples(int64_t /*step*/, const SampleImage& /*image*/) {}
};

}  // namespace cg::train
