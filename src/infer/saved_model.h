#pragma once
// A trained CycleGAN read back from a checkpoint: what translation, evaluation and export
// start from. The user names a checkpoint or a run directory, never the training flags
// again. The training configuration stored in the checkpoint is the app's business: the
// caller passes the reader that turns it into a ModelDescription, so infer stays below cli.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "model/cycle_gan.h"

namespace cg::infer {

/// What a checkpoint's weights are: the architecture to build them into, and its name.
struct ModelDescription {
  std::string preset;            ///< the preset its training run started from (logs, exports)
  model::CycleGanOptions model;  ///< the generators and discriminators the weights fit
  int64_t image_size = 0;        ///< side of the square crops it was trained on (0: unknown)
};

/// Turns the "config" object of a checkpoint manifest (the training run's resolved
/// configuration) into a ModelDescription; `where` names that object in errors. Throws
/// ConfigError when the object does not describe a model (cli::model_description is the
/// one for cyclegan_dist's checkpoints).
using ModelReader =
    std::function<ModelDescription(const nlohmann::json& config, const std::string& where)>;

struct SavedModel {
  std::string path;              ///< the checkpoint file read
  int64_t step = 0;              ///< training steps behind it
  std::string preset;            ///< the preset its training run started from
  int64_t image_size = 0;        ///< side of the square crops it was trained on (0: unknown)
  model::CycleGan net{nullptr};  ///< G, F, D_A and D_B, float32, in eval mode
  /// Gray -> colour: the chroma gain of its colorizations (eval/colour_match.h; 1 when the
  /// checkpoint has none).
  double colour_gain = 1.0;
};

/// Loads `spec`: a checkpoint file (ckpt_N.pt), a checkpoints/ directory or a run
/// directory (then its newest checkpoint that verifies, skipping damaged ones with a
/// warning), onto `device`; `read_model` describes the model its manifest's config holds.
/// Throws FileError naming the file when it is missing, damaged or not a cyclegan_dist
/// checkpoint or its colour gain is not a positive number, ConfigError when its config
/// describes no model (read_model's error) or its weights do not fit that model.
SavedModel load_saved_model(const std::string& spec, const ModelReader& read_model,
                            const torch::Device& device = torch::kCPU);

/// The best checkpoint (checkpoints/ckpt_best.pt, kept by a run that evaluated FID/KID,
/// see --best-metric) of the run directory or checkpoints/ directory `spec`. Throws
/// FileError naming the file when there is none.
std::string best_checkpoint(const std::string& spec);

}  // namespace cg::infer
