// Full-state checkpointing of the Trainer: everything that determines the steps that
// follow, so that N steps + resume + N steps equals 2N steps bit for bit on CPU.
#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"
#include "common/log.h"
#include "train/trainer.h"

namespace cg::train {
namespace {

constexpr const char* kFormat = "cyclegan_dist checkpoint v1";

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

}  // namespace

nlohmann::json Trainer::parameter_signature() {
  nlohmann::json signature = nlohmann::json::object();
  for (const auto& item : model_->named_parameters()) {
    signature[item.key()] = item.value().sizes().vec();
  }
  return signature;
}

void Trainer::check_signature(const std::string& path, const nlohmann::json& metadata) {
  CG_REQUIRE(metadata.value("format", "") == kFormat, FileError, "checkpoint ", path,
             " is not a ", kFormat, " file (format '", metadata.value("format", ""), "')");
  const nlohmann::json expected = parameter_signature();
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

void Trainer::save_state(torch::serialize::OutputArchive& archive) {
  torch::serialize::OutputArchive nets, opt_g, opt_d_a, opt_d_b;
  model_->save(nets);
  opt_g_->save(opt_g);
  opt_d_a_->save(opt_d_a);
  opt_d_b_->save(opt_d_b);
  archive.write("model", nets);
  archive.write("opt_g", opt_g);
  archive.write("opt_d_a", opt_d_a);
  archive.write("opt_d_b", opt_d_b);
  archive.write("step", scalar(step_));
  const data::SourcePosition position = source_.position();
  archive.write("data_epoch", scalar(position.epoch));
  archive.write("data_batch", scalar(position.batch));
  save_pool(archive, "pool_a", pool_a_);
  save_pool(archive, "pool_b", pool_b_);
  archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
}

void Trainer::load_state(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive nets, opt_g, opt_d_a, opt_d_b;
  archive.read("model", nets);
  archive.read("opt_g", opt_g);
  archive.read("opt_d_a", opt_d_a);
  archive.read("opt_d_b", opt_d_b);
  model_->load(nets);
  model_->to(device_);
  opt_g_->load(opt_g);
  opt_d_a_->load(opt_d_a);
  opt_d_b_->load(opt_d_b);
  step_ = read_scalar(archive, "step");
  source_.seek({read_scalar(archive, "data_epoch"), read_scalar(archive, "data_batch")});
  load_pool(archive, "pool_a", pool_a_, device_);
  load_pool(archive, "pool_b", pool_b_, device_);
  torch::Tensor rng;
  archive.read("torch_rng", rng);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
}

std::string Trainer::save_checkpoint() {
  torch::serialize::OutputArchive archive;
  save_state(archive);
  nlohmann::json metadata = {{"format", kFormat},
                             {"step", step_},
                             {"epoch", source_.position().epoch},
                             {"parameters", parameter_signature()},
                             {"config", run_config_}};
  return checkpoints_.save(step_, archive, metadata);
}

bool Trainer::resume(const std::string& spec) {
  const bool automatic = spec == "auto";
  std::vector<std::string> candidates = automatic ? checkpoints_.list() : std::vector{spec};
  if (candidates.empty()) return false;
  std::string problems;
  for (const auto& path : candidates) {
    try {
      torch::serialize::InputArchive archive;
      nlohmann::json metadata = checkpoints_.load(path, archive);
      check_signature(path, metadata);
      load_state(archive);
      log::info("resumed from ", path, " at step ", step_);
      return true;
    } catch (const FileError& e) {
      if (!automatic) throw;
      log::warn(e.what(), "; falling back to the previous checkpoint");
      problems += std::string("\n  ") + e.what();
    }
  }
  throw FileError("--resume auto: no valid checkpoint in " + checkpoints_.dir() + ":" + problems);
}

}  // namespace cg::train
