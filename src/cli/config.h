#pragma once
// The whole configuration of a cyclegan_dist run: a preset, overridden by a JSON config
// file, overridden by flags. Parsed and validated once, then passed by const&.
#include <cstdint>
#include <string>

#include "eval/evaluator.h"
#include "model/cycle_gan.h"
#include "parallel/backend.h"
#include "train/trainer_options.h"

namespace cg::cli {

/// What a run trains on (--data): the generated landscapes, or a data set directory made
/// by cyclegan_data. Unset until --data names one: a run never trains on something the user
/// did not name.
struct DataSource {
  enum class Kind { kUnset, kSynthetic, kDirectory };
  Kind kind = Kind::kUnset;
  std::string directory;  ///< kDirectory: the path as given

  /// The --data text: "synthetic", a directory path, or "" (unset).
  static DataSource parse(const std::string& text) {
    if (text.empty()) return {};
    if (text == "synthetic") return {Kind::kSynthetic, ""};
    return {Kind::kDirectory, text};
  }
  /// The --data text back, as config.json records it.
  std::string text() const { return kind == Kind::kSynthetic ? "synthetic" : directory; }
  bool synthetic() const { return kind == Kind::kSynthetic; }
};

struct DataOptions {
  DataSource source;
  int64_t image_size = 32;          ///< training (crop) size; data sets store this size or larger
  bool flip = false;                ///< random horizontal flips of data set images
  int64_t loader_threads = 2;       ///< background reader threads per rank
  int64_t prefetch = 4;             ///< batches read ahead per rank
  int64_t synthetic_images = 2048;  ///< pictures per domain of the synthetic source
};

struct DistOptions {
  parallel::Backend backend = parallel::Backend::kAuto;  ///< as asked; resolved by the job
  double bucket_mb = 25.0;                               ///< gradient bucket size in MiB
  bool overlap = true;  ///< all-reduce buckets during the backward pass
};

struct MetricsOptions {
  int64_t port = 0;                ///< rank r serves /metrics on port + its local rank (0: off)
  std::string bind = "127.0.0.1";  ///< address the metrics endpoints listen on
  std::string pushgateway;         ///< Pushgateway URL to push to ("": no pushing)
  double push_interval = 15.0;     ///< seconds between pushes (plus one at exit)
  bool tensorboard = true;         ///< rank 0 writes TensorBoard events to <run dir>/tensorboard
};

/// Evaluation on the data set's test split every --eval-every steps (and FID/KID on it).
using EvalOptions = eval::EvalOptions;

/// The evaluation settings of a training run (and cyclegan_translate --eval's, so that it
/// gives a run's numbers): FID/KID on 25 images per set, cheap enough to repeat during
/// training on a CPU, from the weights at eval::default_inception_path().
EvalOptions default_eval_options();

struct Config {
  std::string preset = "cifar-colorize";  ///< the preset the other values started from
  model::CycleGanOptions model;
  train::TrainerOptions train;
  DataOptions data;
  DistOptions dist;
  MetricsOptions metrics;
  EvalOptions eval = default_eval_options();
  int64_t threads =
      0;  ///< LibTorch intra-op threads per rank (0: the rank's share of the node's cores)
  /// --overwrite (a flag of this invocation, not part of the resolved config): a fresh run
  /// into a run directory that holds another run's checkpoints moves them aside first.
  bool overwrite = false;
};

}  // namespace cg::cli
