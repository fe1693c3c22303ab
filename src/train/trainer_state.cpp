// Full-state checkpointing of the Trainer: everything that determines the steps that
// follow, so that N steps + resume + N steps equals 2N steps bit for bit on CPU.
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/stop_request.h"
#include "train/trainer.h"

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


// Every failure on the way to a checkpoint file ends the run with one error that says what
// is still there (the earlier checkpoints, untouched) and how to continue.
std::string write_checkpoint(int64_t step, const CheckpointStore& store,
                             const std::function<std::string()>& write) {
  try {
    return write();
  } catch (const std::exception& e) {
    throw FileError(detail::str_cat("checkpoint of step ", step, " not written: ", describe(e),
                                    "; the earlier checkpoints in ", store.dir(),
                                    " are intact (continue with --resume auto once fixed)"));
  }
}

std::string run_of(const nlohmann::json& metadata) {
  return metadata.is_object() ? metadata.value("run_id", std::string()) : std::string();
}

// A checkpoint named by path must be of the run the run directory holds, if it holds one
// (its newest checkpoint's run), unless options.resume_other_run. Returns the run to go on
// as: the directory's, else the checkpoint's.
std::string run_to_continue(const std::string& path, const nlohmann::json& metadata,
                            const CheckpointStore& store, const TrainerOptions& options) {
  const std::string loaded = run_of(metadata);
  std::string held;
  for (const auto& own : store.list()) {
    try {
      held = run_of(nlohmann::json::parse(read_file(
                        std::filesystem::path(own).replace_extension(".json").string()))
                        .value("metadata", nlohmann::json::object()));
      break;
    } catch (const std::exception&) {
      continue;  // an interrupted write: the next older one tells
    }
  }
  if (held.empty()) return loaded;
  CG_REQUIRE(loaded.empty() || loaded == held || options.resume_other_run, ConfigError,
             "--resume ", path, " is a checkpoint of run ", loaded, ", but --run-dir ",
             options.run_dir, " holds run ", held,
             ": pass --resume-other-run to continue this run from it, or use another --run-dir");
  if (loaded != held) log::info("continuing run ", held, " from ", path, " of run ", loaded);
  return held;
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
  check_checkpoint_format(path, metadata);
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
  // The data position counts global samples, so a run can resume on another world size.
  const data::SourcePosition position = source_.position();
  archive.write("data_epoch", scalar(position.epoch));
  archive.write("data_sample", scalar(position.batch * options_.batch_size * world()));
  save_pool(archive, "pool_a", pool_a_);
  save_pool(archive, "pool_b", pool_b_);
  archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
  if (scaler_g_.options().enabled) {
    scaler_g_.save(archive, "scaler_g_");
    scaler_d_a_.save(archive, "scaler_d_a_");
    scaler_d_b_.save(archive, "scaler_d_b_");
  }
}

void Trainer::load_state(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive nets, opt_g, opt_d_a, opt_d_b;
  archive.read("model", nets);
  archive.read("opt_g", opt_g);
  archive.read("opt_d_a", opt_d_a);
  archive.read("opt_d_b", opt_d_b);
  model_->load(nets);
  model_->to(device_, options_.dtype);
  opt_g_->load(opt_g);
  opt_d_a_->load(opt_d_a);
  opt_d_b_->load(opt_d_b);
  step_ = read_scalar(archive, "step");
  const int64_t sample = read_scalar(archive, "data_sample");
  const int64_t global_batch = options_.batch_size * world();
  if (sample % global_batch != 0) {
    log::warn("the checkpoint stopped at sample ", sample, " of its epoch, which is not a multiple of ",
              global_batch, " (batch size x ranks): resuming at the batch before it");
  }
  source_.seek({read_scalar(archive, "data_epoch"), sample / global_batch});
  load_pool(archive, "pool_a", pool_a_, device_);
  load_pool(archive, "pool_b", pool_b_, device_);
  torch::Tensor rng;
  archive.read("torch_rng", rng);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
  // A checkpoint of an fp32 or bf16 run has no scalers: an fp16 resume starts them afresh.
  if (scaler_g_.options().enabled) {
    scaler_g_.load(archive, "scaler_g_");
    scaler_d_a_.load(archive, "scaler_d_a_");
    scaler_d_b_.load(archive, "scaler_d_b_");
  }
}

void Trainer::synchronize_state() {
  raise_test_signal("first-collective");
  const std::string signature = parameter_signature().dump();
  std::vector<int64_t> crcs = comm_->all_gather(static_cast<int64_t>(crc32_of(signature)));
  for (int r = 1; r < world(); ++r) {
    CG_REQUIRE(crcs[r] == crcs[0], ConfigError, "rank ", r, " builds a model with other parameter ",
               "names or shapes than rank 0: every rank must get the same flags");
  }
  // Rank 0's full state (weights, optimizers, step, data position, pools) goes to all.
  std::string bytes;
  if (rank() == 0) {
    torch::serialize::OutputArchive archive;
    save_state(archive);
    archive.save_to([&](const void* data, size_t size) {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
  }
  torch::Tensor length = torch::tensor(static_cast<int64_t>(bytes.size()), torch::kLong)
                             .reshape({1}).to(device_);
  comm_->broadcast(length, 0);
  torch::Tensor buffer = torch::empty({length.item<int64_t>()}, torch::kByte);
  if (rank() == 0) std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
  buffer = buffer.to(device_);
  comm_->broadcast(buffer, 0);
  if (rank() != 0) {
    buffer = buffer.to(torch::kCPU);
    torch::serialize::InputArchive archive;
    archive.load_from(static_cast<const char*>(buffer.data_ptr()), static_cast<size_t>(buffer.numel()));
    load_state(archive);
  }
}

void Trainer::check_replicas() {
  if (world() <= 1) return;
  uint32_t crc = 0;
  std::string bytes;
  for (const auto& p : model_->parameters()) {
    torch::Tensor cpu = p.detach().to(torch::kCPU).contiguous();
    bytes.append(static_cast<const char*>(cpu.data_ptr()), cpu.numel() * cpu.element_size());
  }
  crc = crc32_of(bytes);
  std::vector<int64_t> crcs = comm_->all_gather(static_cast<int64_t>(crc));
  std::string differing;
  for (int r = 1; r < world(); ++r) {
    if (crcs[r] != crcs[0]) differing += " " + std::to_string(r);
  }
  CG_REQUIRE(differing.empty(), Error, "replica check at step ", step_,
             ": the parameters of rank(s)", differing, " differ from rank 0's");
}

nlohmann::json Trainer::checkpoint_metadata() {
  return {{"format", kCheckpointFormat},
          {"run_id", options_.run_id},
          {"step", step_},
          {"epoch", source_.position().epoch},
          {"parameters", parameter_signature()},
          {"config", run_config_}};
}

// What the best checkpoint is best at, as its manifest records it; a value counts as the
// one to beat only when it was measured the same way.
namespace {
nlohmann::json best_key(const std::string& metric, const eval::Evaluator& evaluator) {
  return {{"metric", metric},
          {"fid_images", evaluator.options().fid_images},
          {"extractor_sha1", evaluator.inception() ? evaluator.inception()->sha1() : ""}};
}
}  // namespace

void Trainer::keep_if_best(const eval::EvalReport& report) {
  if (rank() != 0 || !report.fid) return;
  const double value = report.metric(options_.best_metric);
  if (best_ && !(value < best_->first)) return;
  torch::serialize::OutputArchive archive;
  save_state(archive);
  nlohmann::json metadata = checkpoint_metadata();
  metadata["best"] = best_key(options_.best_metric, *evaluator_);
  metadata["best"]["value"] = value;
  const std::string path = write_checkpoint(step_, checkpoints_, [&] { return checkpoints_.save_best(step_, archive, metadata); });
  if (best_) {
    log::info("new best ", options_.best_metric, " ", value, " at step ", step_, " (was ",
              best_->first, " at step ", best_->second, "): ", path);
  } else {
    log::info("best ", options_.best_metric, " so far ", value, " at step ", step_, ": ", path);
  }
  best_ = {value, step_};
}

// The best value to beat after a resume: ckpt_best.json's, if it is valid and was measured
// as this run measures (same metric, image count and extractor).
void Trainer::read_best() {
  best_.reset();
  if (evaluator_ == nullptr || rank() != 0) return;
  const std::string path = checkpoints_.best_path();
  if (!std::filesystem::exists(path)) return;
  try {
    const nlohmann::json metadata = checkpoints_.verify(path);
    nlohmann::json best = metadata.at("best");
    const double value = best.at("value").get<double>();
    best.erase("value");
    if (best != best_key(options_.best_metric, *evaluator_)) {
      log::info(path, " is best by ", best.dump(), "; this run follows ",
                best_key(options_.best_metric, *evaluator_).dump(),
                ", so its first evaluation replaces it");
      return;
    }
    best_ = {value, metadata.at("step").get<int64_t>()};
    log::info("best ", options_.best_metric, " so far ", value, " at step ", best_->second, " (",
              path, ")");
  } catch (const std::exception& e) {
    log::warn(path, " is not usable (", describe(e), "); the next evaluation replaces it");
  }
}

std::string Trainer::save_checkpoint() {
  const auto start = std::chrono::steady_clock::now();
  if (comm_ != nullptr) comm_->barrier();
  std::string path;
  if (rank() == 0) {
    raise_test_signal("checkpoint");
    path = write_checkpoint(step_, checkpoints_, [&] {
      torch::serialize::OutputArchive archive;
      save_state(archive);
      return checkpoints_.save(step_, archive, checkpoint_metadata());
    });
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const CheckpointRecord record{
      step_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
      std::chrono::duration<double>(now).count()};
  for (auto* sink : sinks_) sink->on_checkpoint(record);
  return path;
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
      const std::string run = automatic ? run_of(metadata) : run_to_continue(path, metadata, checkpoints_, options_);
      load_state(archive);
      if (!run.empty()) options_.run_id = run;
      log::info("resumed from ", path, " at step ", step_);
      read_best();
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
