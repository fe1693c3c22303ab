#include "train/best_checkpoint.h"

#include <filesystem>

#include "common/error.h"
#include "common/log.h"

namespace cg::train {
namespace {

nlohmann::json best_key(eval::Metric metric, const eval::Evaluator& evaluator) {
  return {{"metric", eval::metric_name(metric)},
          {"fid_images", evaluator.options().fid_images},
          {"extractor_sha1", evaluator.inception() ? evaluator.inception()->sha1() : ""}};
}

}  // namespace

void BestCheckpoint::read(const CheckpointStore& store, const eval::Evaluator& evaluator) {
  best_.reset();
  const std::string path = store.best_path();
  if (!std::filesystem::exists(path)) return;
  try {
    const nlohmann::json metadata = store.verify(path);
    nlohmann::json best = metadata.at("best");
    const double value = best.at("value").get<double>();
    best.erase("value");
    if (best != best_key(metric_, evaluator)) {
      log::info(path, " is best by ", best.dump(), "; this run follows ",
                best_key(metric_, evaluator).dump(), ", so its first evaluation replaces it");
      return;
    }
    best_ = {value, metadata.at("step").get<int64_t>()};
    log::info("best ", eval::metric_name(metric_), " so far ", value, " at step ", best_->second,
              " (", path, ")");
  } catch (const std::exception& e) {
    log::warn(path, " is not usable (", describe(e), "); the next evaluation replaces it");
  }
}

bool BestCheckpoint::improved_by(const eval::EvalReport& report) const {
  if (!report.fid) return false;
  return !best_ || report.metric(metric_) < best_->first;
}

void BestCheckpoint::write(const eval::EvalReport& report, const eval::Evaluator& evaluator,
                           CheckpointStore& store, const TrainingState& state,
                           nlohmann::json metadata) {
  const double value = report.metric(metric_);
  const int64_t step = state.step;
  torch::serialize::OutputArchive archive;
  save_training_state(state, archive);
  metadata["best"] = best_key(metric_, evaluator);
  metadata["best"]["value"] = value;
  const std::string path = write_checkpoint(
      step, store, [&] { return store.save_best(step, archive, metadata); }, "best checkpoint");
  if (best_) {
    log::info("new best ", eval::metric_name(metric_), " ", value, " at step ", step, " (was ",
              best_->first, " at step ", best_->second, "): ", path);
  } else {
    log::info("best ", eval::metric_name(metric_), " so far ", value, " at step ", step, ": ",
              path);
  }
  best_ = {value, step};
}

}  // namespace cg::train
