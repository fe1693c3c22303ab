#pragma once
// Dynamic loss scaling for fp16 training, the algorithm of torch.amp.GradScaler: the loss
// is multiplied by a scale S before backward so that small fp16 gradients do not flush to
// zero; the gradients are divided by S before the optimizer step, and a step whose
// gradients hold an inf or NaN is skipped. S halves (backoff) at every such step and
// doubles (growth) after `growth_interval` consecutive finite steps, so it settles just
// below the largest scale that does not overflow. One GradScaler per optimizer.
//
// Per step, in this order:
//   scaler.scale(loss).backward();
//   ...all-reduce the gradients (every rank then holds the same ones)...
//   bool found_inf = scaler.unscale(params);   // same answer on every rank
//   if (!found_inf) optimizer.step();
//   scaler.update(found_inf);
//
// Not thread-safe. The scale lives on the scaler's device (the gradients' device); the
// fused ATen kernels unscale and update there without a host round trip, and only
// unscale()'s result and the accessors synchronise.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace cg::train {

struct GradScalerOptions {
  /// false: scale() returns the loss unchanged, unscale() finds nothing and leaves the
  /// gradients alone, update() does nothing (fp32 and bf16 runs need no scaling).
  bool enabled = true;
  /// The scale before the first step: 2^16, torch.amp.GradScaler's default.
  double init_scale = 65536.0;
  /// Multiplies the scale after growth_interval consecutive steps without inf/NaN.
  double growth_factor = 2.0;
  /// Multiplies the scale at every step with an inf/NaN gradient.
  double backoff_factor = 0.5;
  /// Consecutive finite steps before the scale grows.
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  /// Throws c10::Error on options torch.amp.GradScaler rejects (init_scale <= 0,
  /// growth_factor <= 1, backoff_factor outside (0, 1), growth_interval < 1).
  explicit GradScaler(GradScalerOptions options = {}, torch::Device device = torch::kCPU);

  /// loss: a float tensor (any shape) -> loss * S, float32 or wider.
  torch::Tensor scale(const torch::Tensor& loss) const;

  /// Divides every defined gradient of `params` by S in place (float32 gradients on the
  /// scaler's device, else c10::Error) and returns whether any gradient held an inf or
  /// NaN; such gradients are unscaled too and the step must be skipped. Call once per
  /// step, after the gradients are final (after the all-reduce).
  bool unscale(const std::vector<torch::Tensor>& params);

  /// Ends a step: with found_inf the scale backs off and the good-step count restarts
  /// (and skipped_steps() grows); without, the count grows and, at growth_interval, the
  /// scale grows (unless that would overflow float32) and the count restarts.
  void update(bool found_inf);

  /// S now (synchronises with the device).
  double scale_value() const;
  /// Consecutive finite steps since the scale last changed (synchronises).
  int64_t growth_tracker() const;
  /// Steps update() saw with found_inf, including those before a resume.
  int64_t skipped_steps() const { return skipped_steps_; }
  const GradScalerOptions& options() const { return options_; }

  /// Writes the state (scale, growth tracker, skipped steps) as <prefix>scale,
  /// <prefix>growth_tracker, <prefix>skipped_steps.
  void save(torch::serialize::OutputArchive& archive, const std::string& prefix) const;
  /// Reads what save() wrote under `prefix` and returns true; returns false and keeps
  /// the current state when the archive holds no scale under it (e.g. an fp32 run's).
  bool load(torch::serialize::InputArchive& archive, const std::string& prefix);

 private:
  GradScalerOptions options_;
  torch::Device device_;
  torch::Tensor scale_;           // () float32 on device_
  torch::Tensor growth_tracker_;  // () int32 on device_
  int64_t skipped_steps_ = 0;
};

}  // namespace cg::train
