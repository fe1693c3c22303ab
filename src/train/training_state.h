#pragma once
// What a checkpoint holds and how it is written and read: the full training state (nets,
// optimizers, step, data position, image pools, the CPU RNG, fp16 loss scalers), so that N
// steps + resume + N steps equals 2N steps bit for bit on CPU; the parameter signature that
// says which model a checkpoint is of; the manifest metadata; and the choice of the
// checkpoint to resume from (with the run_id rules). Files go through CheckpointStore.
// Not thread-safe: call from the training thread.
#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "data/unpaired_source.h"
#include "model/cycle_gan.h"
#include "model/image_pool.h"
#include "train/checkpoint_store.h"
#include "train/grad_scaler.h"

namespace cg::train {

/// The parts of a trainer that a checkpoint holds, by reference: a view the trainer builds
/// when it saves or loads; it must not outlive them.
struct TrainingState {
  model::CycleGan& model;
  torch::optim::Optimizer &opt_g, &opt_d_a, &opt_d_b;
  model::ImagePool &pool_a, &pool_b;
  /// Saved and loaded only when enabled (fp16 runs).
  GradScaler &scaler_g, &scaler_d_a, &scaler_d_b;
  data::UnpairedSource& source;
  int64_t& step;           ///< steps done
  torch::Device device;    ///< where the nets, pools and scalers live
  torch::Dtype dtype;      ///< the nets' master dtype
  int64_t batch_size = 1;  ///< per rank
  int world = 1;           ///< ranks; the data position is stored in global samples
};

/// Writes the full state into `archive`. The data position counts global samples
/// (epoch, batch x batch_size x world), so a run can resume on another world size.
void save_training_state(const TrainingState& state, torch::serialize::OutputArchive& archive);
/// Reads what save_training_state wrote into the parts of `state` (the nets moved to its
/// device and dtype), seeks the source and sets the CPU RNG; warns when the stored sample is
/// not a multiple of the global batch (resumes at the batch before it). A checkpoint
/// without scalers (fp32, bf16) leaves enabled scalers as they are. Throws c10::Error when
/// an entry is missing or does not fit.
void load_training_state(const TrainingState& state, torch::serialize::InputArchive& archive);

/// {parameter name: shape} of `model`: which model a checkpoint is of.
nlohmann::json parameter_signature(const model::CycleGan& model);
/// check_checkpoint_format(path, metadata), then throws ConfigError naming the parameter
/// when the manifest's signature is not `model`'s (another preset or model flags).
void check_parameter_signature(const std::string& path, const nlohmann::json& metadata,
                               const model::CycleGan& model);

/// The manifest metadata of a checkpoint of `state` now: format, run_id, step, epoch,
/// parameter signature and the run's resolved configuration.
nlohmann::json checkpoint_metadata(const TrainingState& state, const std::string& run_id,
                                   const nlohmann::json& run_config);

/// Runs `write` (which writes the `kind` ("checkpoint", "best checkpoint") of `step` into
/// `store` and returns its path) and turns any failure into one FileError that says what is
/// left: the newest numbered checkpoint in `store`, from which --resume auto continues, or
/// that there is none yet, so that a restart begins at step 0.
std::string write_checkpoint(int64_t step, const CheckpointStore& store,
                             const std::function<std::string()>& write,
                             const std::string& kind = "checkpoint");

/// How resume_training_state chooses a checkpoint.
struct ResumeRules {
  std::string run_dir;            ///< the run directory, named in errors
  bool resume_other_run = false;  ///< a .pt of another run may continue this directory's run
};

/// Restores `state` from `spec`: "auto" (the newest checkpoint of `store` that verifies and
/// fits this model, falling back past the others with a warning) or a .pt path (which must
/// be of the run the directory holds, if any, unless rules.resume_other_run). Returns the
/// run_id to go on as ("" when the checkpoint has none), or nullopt when "auto" finds no
/// checkpoint. Throws FileError (corrupt; with "auto": none usable) or ConfigError (another
/// model, another run). Logs the checkpoint it resumed from.
std::optional<std::string> resume_training_state(const std::string& spec,
                                                 const CheckpointStore& store,
                                                 const TrainingState& state,
                                                 const ResumeRules& rules);

}  // namespace cg::train
