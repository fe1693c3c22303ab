#pragma once
// The best evaluation of a run by one metric (--best-metric) and its checkpoint,
// checkpoints/ckpt_best.pt: written when an evaluation beats the best so far, and carried
// across resumes by its manifest (ckpt_best.json), which records how the value was
// measured (metric, FID image count, feature extractor): a value counts as the one to beat
// only when this run measures the same way. Rank 0's bookkeeping; not thread-safe.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "eval/eval_report.h"
#include "eval/evaluator.h"
#include "train/checkpoint_store.h"
#include "train/training_state.h"

namespace cg::train {

class BestCheckpoint {
 public:
  /// metric: TrainerOptions::best_metric.
  explicit BestCheckpoint(eval::Metric metric) : metric_(metric) {}

  /// The best value so far and the step it was reached at, or nullopt before the first.
  std::optional<std::pair<double, int64_t>> best() const { return best_; }

  /// Forgets the best value, then takes ckpt_best.json's from `store` when it verifies and
  /// was measured as `evaluator` measures; logs what it found (a warning when the file is
  /// not usable). Never throws for a bad file: the next evaluation replaces it.
  void read(const CheckpointStore& store, const eval::Evaluator& evaluator);
  /// Forgets the best value.
  void reset() { best_.reset(); }

  /// True when `report` has FID/KID and its metric beats the best so far (or there is none).
  bool improved_by(const eval::EvalReport& report) const;
  /// Writes `state` as the best checkpoint of `store` with `metadata` (checkpoint_metadata)
  /// plus how `report` was measured and its value, logs it and makes it the best. Call when
  /// improved_by(report). Throws FileError as write_checkpoint does.
  void write(const eval::EvalReport& report, const eval::Evaluator& evaluator,
             CheckpointStore& store, const TrainingState& state, nlohmann::json metadata);

 private:
  eval::Metric metric_;
  std::optional<std::pair<double, int64_t>> best_;  // value, step
};

}  // namespace cg::train
