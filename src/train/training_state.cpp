#include "train/training_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <vector>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"

namespace cg::train {
namespace {

torch::Tensor scalar(int64_t value) { return torch::tensor(value, torch::kLong); }

int64_t read_scalar(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor t;
  archive.read(key, t);
  return t.item<int64_t>();
}

void save_pool(torch::serialize::OutputArchive& archive, const std::string& key,
               const model::ImagePool& pool) {
  archive.write(key + "_rng", scalar(static_cast<int64_t>(pool.rng_state())));
  torch::Tensor stored = pool.stored();
  if (stored.defined()) archive.write(key + "_images", stored);
}

void load_pool(torch::serialize::InputArchive& archive, const std::string& key,
               model::ImagePool& pool, const torch::Device& device) {
  torch::Tensor stored;
  if (!archive.try_read(key + "_images", stored)) stored = torch::Tensor();
  if (stored.defined()) stored = stored.to(device);
  pool.restore(stored, static_cast<uint64_t>(read_scalar(archive, key + "_rng")));
}

std::string run_of(const nlohmann::json& metadata) {
  return metadata.is_object() ? metadata.value("run_id", std::string()) : std::string();
}

// A checkpoint named by path must be of the run the run directory holds, if it holds one
// (its newest checkpoint's run), unless rules.resume_other_run. Returns the run to go on
// as: the directory's, else the checkpoint's.
std::string run_to_continue(const std::string& path, const nlohmann::json& metadata,
                            const CheckpointStore& store, const ResumeRules& rules) {
  const std::string loaded = run_of(metadata);
  std::string held;
  for (const auto& own : store.list()) {
    try {
      held = run_of(nlohmann::json::parse(
                        read_file(std::filesystem::path(own).replace_extension(".json").string()))
                        .value("metadata", nlohmann::json::object()));
      break;
    } catch (const std::exception&) {
      continue;  // an interrupted write: the next older one tells
    }
  }
  if (held.empty()) return loaded;
  CG_REQUIRE(loaded.empty() || loaded == held || rules.resume_other_run, ConfigError, "--resume ",
             path, " is a checkpoint of run ", loaded, ", but --run-dir ", rules.run_dir,
             " holds run ", held,
             ": pass --resume-other-run to continue this run from it, or use another --run-dir");
  if (loaded != held) log::info("continuing run ", held, " from ", path, " of run ", loaded);
  return held;
}

}  // namespace

void save_training_state(const TrainingState& state, torch::serialize::OutputArchive& archive) {
  torch::serialize::OutputArchive nets, opt_g, opt_d_a, opt_d_b;
  state.model->save(nets);
  state.opt_g.save(opt_g);
  state.opt_d_a.save(opt_d_a);
  state.opt_d_b.save(opt_d_b);
  archive.write("model", nets);
  archive.write("opt_g", opt_g);
  archive.write("opt_d_a", opt_d_a);
  archive.write("opt_d_b", opt_d_b);
  archive.write("step", scalar(state.step));
  const data::SourcePosition position = state.source.position();
  archive.write("data_epoch", scalar(position.epoch));
  archive.write("data_sample", scalar(position.batch * state.batch_size * state.world));
  save_pool(archive, "pool_a", state.pool_a);
  save_pool(archive, "pool_b", state.pool_b);
  archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
  if (state.scaler_g.options().enabled) {
    state.scaler_g.save(archive, "scaler_g_");
    state.scaler_d_a.save(archive, "scaler_d_a_");
    state.scaler_d_b.save(archive, "scaler_d_b_");
  }
}

void load_training_state(const TrainingState& state, torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive nets, opt_g, opt_d_a, opt_d_b;
  archive.read("model", nets);
  archive.read("opt_g", opt_g);
  archive.read("opt_d_a", opt_d_a);
  archive.read("opt_d_b", opt_d_b);
  state.model->load(nets);
  state.model->to(state.device, state.dtype);
  state.opt_g.load(opt_g);
  state.opt_d_a.load(opt_d_a);
  state.opt_d_b.load(opt_d_b);
  state.step = read_scalar(archive, "step");
  const int64_t sample = read_scalar(archive, "data_sample");
  const int64_t global_batch = state.batch_size * state.world;
  if (sample % global_batch != 0) {
    log::warn("the checkpoint stopped at sample ", sample,
              " of its epoch, which is not a multiple of ", global_batch,
              " (batch size x ranks): resuming at the batch before it");
  }
  state.source.seek({read_scalar(archive, "data_epoch"), sample / global_batch});
  load_pool(archive, "pool_a", state.pool_a, state.device);
  load_pool(archive, "pool_b", state.pool_b, state.device);
  torch::Tensor rng;
  archive.read("torch_rng", rng);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
  // A checkpoint of an fp32 or bf16 run has no scalers: an fp16 resume starts them afresh.
  if (state.scaler_g.options().enabled) {
    state.scaler_g.load(archive, "scaler_g_");
    state.scaler_d_a.load(archive, "scaler_d_a_");
    state.scaler_d_b.load(archive, "scaler_d_b_");
  }
}

nlohmann::json parameter_signature(const model::CycleGan& model) {
  nlohmann::json signature = nlohmann::json::object();
  for (const auto& item : model->named_parameters()) {
    signature[item.key()] = item.value().sizes().vec();
  }
  return signature;
}

void check_parameter_signature(const std::string& path, const nlohmann::json& metadata,
                               const model::CycleGan& model) {
  check_checkpoint_format(path, metadata);
  const nlohmann::json expected = parameter_signature(model);
  const nlohmann::json found = metadata.value("parameters", nlohmann::json::object());
  for (const auto& [name, shape] : expected.items()) {
    CG_REQUIRE(found.contains(name), ConfigError, "checkpoint ", path,
               " was written for a different model: it has no parameter ", name,
               " (check --preset and the model flags)");
    CG_REQUIRE(found[name] == shape, ConfigError, "checkpoint ", path,
               " was written for a different model: ", name, " has shape ", found[name].dump(),
               " there and ", shape.dump(), " here (check --preset and the model flags)");
  }
  CG_REQUIRE(found.size() == expected.size(), ConfigError, "checkpoint ", path, " has ",
             found.size(), " parameters, this model ", expected.size());
}

nlohmann::json checkpoint_metadata(const TrainingState& state, const std::string& run_id,
                                   const nlohmann::json& run_config) {
  return {{"format", kCheckpointFormat},
          {"run_id", run_id},
          {"step", state.step},
          {"epoch", state.source.position().epoch},
          {"parameters", parameter_signature(state.model)},
          {"config", run_config}};
}

std::string write_checkpoint(int64_t step, const CheckpointStore& store,
                             const std::function<std::string()>& write, const std::string& kind) {
  try {
    return write();
  } catch (const std::exception& e) {
    const std::vector<std::string> kept = store.list();
    const std::string left =
        kept.empty() ? detail::str_cat("no checkpoint of this run is in ", store.dir(),
                                       " yet: --resume auto would start again from step 0")
                     : detail::str_cat("the earlier checkpoints in ", store.dir(),
                                       " are intact, the newest ", kept.front(),
                                       " (continue from it with --resume auto once fixed)");
    throw FileError(
        detail::str_cat(kind, " of step ", step, " not written: ", describe(e), "; ", left));
  }
}

std::optional<std::string> resume_training_state(const std::string& spec,
                                                 const CheckpointStore& store,
                                                 const TrainingState& state,
                                                 const ResumeRules& rules) {
  const bool automatic = spec == "auto";
  std::vector<std::string> candidates = automatic ? store.list() : std::vector{spec};
  if (candidates.empty()) return std::nullopt;
  std::string problems;
  for (const auto& path : candidates) {
    try {
      torch::serialize::InputArchive archive;
      nlohmann::json metadata = store.load(path, archive);
      check_parameter_signature(path, metadata, state.model);
      const std::string run =
          automatic ? run_of(metadata) : run_to_continue(path, metadata, store, rules);
      load_training_state(state, archive);
      log::info("resumed from ", path, " at step ", state.step);
      return run;
    } catch (const FileError& e) {
      if (!automatic) throw;
      log::warn(e.what(), "; falling back to the previous checkpoint");
      problems += std::string("\n  ") + e.what();
    }
  }
  throw FileError("--resume auto: no valid checkpoint in " + store.dir() + ":" + problems);
}

}  // namespace cg::train
