#pragma once
// The --on-nonfinite policy. A step whose gradients are not all finite after the
// all-reduce has that optimizer's update dropped: the reduced gradients are the same on
// every rank, so every rank drops the same updates without another collective, and the
// weights and optimizer state stay those of the last good step. Under kStop, `limit`
// such steps in a row end the run with an error naming the step and the loss terms.
#include <torch/torch.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "train/metrics_sink.h"
#include "train/trainer_options.h"

namespace cg::train {

/// Whether every defined gradient of `params` is finite (on CPU one parallel pass over all
/// of them; elsewhere one reduction per tensor and one host read for all).
bool gradients_finite(const std::vector<torch::Tensor>& params);

class NonFiniteSteps {
 public:
  NonFiniteSteps(NonFinitePolicy policy, int64_t limit) : policy_(policy), limit_(limit) {}

  /// Records the finished step `step` (1-based) and which of its updates were dropped
  /// ("G", "D_A", "D_B"; none: a good step). Logs a dropped step naming those updates
  /// (rank 0); under kStop throws Error after `limit` in a row.
  void record(int64_t step, const std::vector<std::string>& dropped, const StepLosses& losses,
              int rank);

  int64_t skipped_total() const { return skipped_total_; }
  int64_t in_a_row() const { return in_a_row_; }

 private:
  NonFinitePolicy policy_;
  int64_t limit_;
  int64_t in_a_row_ = 0;
  int64_t skipped_total_ = 0;
};

/// The loss terms of `losses` that are not finite, as "D_A nan, cycle_B inf" ("" if none).
std::string nonfinite_terms(const StepLosses& losses);

/// Test hook for fault injection: the steps (1-based, as the progress line counts them) at
/// which this rank's D_B loss counts as NaN (the trainer's loop makes D_B's gradients NaN
/// and reports the loss NaN; train/trainer.h), from the environment variable
/// CYCLEGAN_TEST_NONFINITE="STEP[,STEP...][@RANK]" (all ranks without @RANK). Empty when
/// the variable is not set; throws ConfigError when it is malformed.
std::set<int64_t> injected_nonfinite_steps(int rank);

}  // namespace cg::train
