#pragma once
// A trained CycleGAN read back from a checkpoint, with the configuration it was trained
// with: what translation, evaluation and export start from. The user names a checkpoint
// or a run directory, never the training flags again.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "cli/config.h"
#include "model/cycle_gan.h"

namespace cg::infer {

struct SavedModel {
  std::string path;              ///< the checkpoint file read
  int64_t step = 0;              ///< training steps behind it
  cli::Config config;            ///< the run's resolved configuration (preset, model, data, ...)
  model::CycleGan net{nullptr};  ///< G, F, D_A and D_B, float32, in eval mode
};

/// Loads `spec`: a checkpoint file (ckpt_N.pt), a checkpoints/ directory or a run
/// directory (then its newest checkpoint that verifies, skipping damaged ones with a
/// warning), onto `device`. Throws FileError naming the file when it is missing, damaged
/// or not a cyclegan_dist checkpoint, ConfigError when its weights do not fit its own
/// configuration.
SavedModel load_saved_model(const std::string& spec, const torch::Device& device = torch::kCPU);

/// The best checkpoint (checkpoints/ckpt_best.pt, kept by a run that evaluated FID/KID,
/// see --best-metric) of the run directory or checkpoints/ directory `spec`. Throws
/// FileError naming the file when there is none.
std::string best_checkpoint(const std::string& spec);

}  // namespace cg::infer
