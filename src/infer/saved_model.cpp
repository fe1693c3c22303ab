#include "infer/saved_model.h"

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "train/checkpoint_store.h"

namespace cg::infer {
namespace {

namespace fs = std::filesystem;

SavedModel load_file(const std::string& path, const train::CheckpointStore& store,
                     const ModelReader& read_model, const torch::Device& device) {
  torch::serialize::InputArchive archive;
  const nlohmann::json metadata = store.load(path, archive);
  train::check_checkpoint_format(path, metadata);
  SavedModel saved;
  saved.path = path;
  saved.step = metadata.value("step", int64_t{0});
  if (const auto gain = metadata.find("colour_gain"); gain != metadata.end()) {
    CG_REQUIRE(gain->is_number() && gain->get<double>() > 0 && std::isfinite(gain->get<double>()),
               FileError, "checkpoint ", path, ": colour_gain ", gain->dump(),
               " is not a positive number");
    saved.colour_gain = gain->get<double>();
  }
  const ModelDescription description =
      read_model(metadata["config"], "checkpoint " + path + ": config");
  saved.preset = description.preset;
  saved.image_size = description.image_size;
  saved.net = model::CycleGan(description.model);
  torch::serialize::InputArchive nets;
  archive.read("model", nets);
  try {
    saved.net->load(nets);
  } catch (const c10::Error& e) {
    throw ConfigError("checkpoint " + path +
                      ": the weights do not fit the model its config describes (" +
                      e.what_without_backtrace() + ")");
  }
  saved.net->to(device, torch::kFloat);
  saved.net->eval();
  return saved;
}

}  // namespace

SavedModel load_saved_model(const std::string& spec, const ModelReader& read_model,
                            const torch::Device& device) {
  CG_REQUIRE(fs::exists(spec), FileError, "checkpoint ", spec, ": no such file or directory");
  if (!fs::is_directory(spec)) {
    const train::CheckpointStore store(fs::path(spec).parent_path().string(), 1 << 30);
    return load_file(spec, store, read_model, device);
  }
  const fs::path dir =
      fs::exists(fs::path(spec) / "checkpoints") ? fs::path(spec) / "checkpoints" : fs::path(spec);
  const train::CheckpointStore store(dir.string(), 1 << 30);
  const std::vector<std::string> candidates = store.list();
  CG_REQUIRE(!candidates.empty(), FileError, "checkpoint ", spec, ": no checkpoint (ckpt_N.pt) in ",
             dir.string());
  for (size_t i = 0; i < candidates.size(); ++i) {
    try {
      return load_file(candidates[i], store, read_model, device);
    } catch (const FileError& e) {
      if (i + 1 == candidates.size()) throw;
      log::warn(e.what(), "; trying the previous checkpoint");
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unreachable");
}

std::string best_checkpoint(const std::string& spec) {
  CG_REQUIRE(fs::is_directory(spec), FileError, "--best: ", spec,
             " is not a run directory (give the run directory, not a checkpoint file)");
  const fs::path dir =
      fs::exists(fs::path(spec) / "checkpoints") ? fs::path(spec) / "checkpoints" : fs::path(spec);
  const std::string path = train::CheckpointStore(dir.string(), 1).best_path();
  CG_REQUIRE(
      fs::exists(path), FileError, "--best: no best checkpoint ", path,
      " (a run keeps one when it evaluates FID/KID: --eval-every with the Inception weights)");
  return path;
}

}  // namespace cg::infer
