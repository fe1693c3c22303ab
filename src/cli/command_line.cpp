#include "cli/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/option_table.h"
#include "cli/presets.h"
#include "common/error.h"
#include "common/file_util.h"
#include "data/shard.h"

namespace cg::cli {
namespace {

// Bounds of the options that size allocations or threads: past them a typo would take
// minutes and gigabytes before failing, so they are refused up front.
constexpr int64_t kMaxBatchSize = 65536;
constexpr int64_t kMaxLoaderThreads = 256;
constexpr int64_t kMaxPrefetch = 1024;
constexpr double kMaxSyntheticBytes = 16.0 * (1 << 30);

std::string json_to_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string text;
    for (const auto& item : value) text += (text.empty() ? "" : ",") + json_to_text(item);
    return text;
  }
  return value.dump();
}

nlohmann::json read_config_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const FileError& e) {
    throw ConfigError(std::string("--config: ") + e.what());
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError("config file " + path + " is not valid JSON: " + describe(e));
  }
  CG_REQUIRE(doc.is_object(), ConfigError, "config file ", path,
             " must hold one JSON object of option names to values");
  return doc;
}

}  // namespace

void apply_json(Config& config, const nlohmann::json& doc, const std::string& where) {
  CG_REQUIRE(doc.is_object(), ConfigError, where,
             " must hold one JSON object of option names to values");
  for (const auto& [key, value] : doc.items()) {
    if (key == "preset") continue;
    const auto& table = option_table();
    auto spec =
        std::find_if(table.begin(), table.end(), [&](const auto& s) { return s.name == key; });
    CG_REQUIRE(spec != table.end(), ConfigError, where, ": unknown option '", key, "'");
    CG_REQUIRE(!value.is_object() && !value.is_null(), ConfigError, where, ": option '", key,
               "' must be a string, number, boolean or list");
    spec->set(config, json_to_text(value), where + ": option '" + key + "'");
  }
}

void apply_config_file(Config& config, const std::string& path) {
  apply_json(config, read_config_file(path), "config file " + path);
}

Config from_json(const nlohmann::json& doc, const std::string& where) {
  CG_REQUIRE(doc.is_object(), ConfigError, where,
             " must hold one JSON object of option names to values");
  Config config = preset(doc.value("preset", std::string("cifar-colorize")));
  apply_json(config, doc, where);
  return config;
}

infer::ModelDescription model_description(const nlohmann::json& doc, const std::string& where) {
  const Config config = from_json(doc, where);
  return {config.preset, config.model};
}

std::optional<Config> parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"cyclegan_dist: data-parallel CycleGAN training", "cyclegan_dist"};
  std::string preset_name, config_path;
  std::string presets;
  for (const auto& n : preset_names()) presets += (presets.empty() ? "" : "|") + n;
  // A repeated flag takes its last value, so wrappers can append overrides to defaults.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--preset", preset_name,
                 "starting values (" + presets + "; default cifar-colorize)");
  app.add_option("--config", config_path, "JSON file of option values, applied after the preset");
  // Decisions of this invocation about an existing run directory: not options of the run,
  // so they are neither read from a config file nor written to config.json.
  bool overwrite = false, resume_other_run = false;
  app.add_flag("--overwrite", overwrite,
               "start afresh in a run directory that holds checkpoints: its contents are moved "
               "to <run-dir>.replaced-<time> first");
  app.add_flag("--resume-other-run", resume_other_run,
               "let --resume PATH load a checkpoint of another run than the run directory's");
  std::map<std::string, std::string> given;
  std::vector<CLI::Option*> options;
  for (const auto& spec : option_table()) {
    options.push_back(app.add_option("--" + spec.name, given[spec.name], spec.help));
    if (spec.is_switch) options.back()->expected(0, 1)->type_name("[true|false]");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }
  nlohmann::json file = nlohmann::json::object();
  if (!config_path.empty()) file = read_config_file(config_path);
  if (preset_name.empty()) preset_name = file.value("preset", std::string("cifar-colorize"));
  Config config = preset(preset_name);
  if (!config_path.empty()) apply_config_file(config, config_path);
  const auto& table = option_table();
  for (size_t i = 0; i < table.size(); ++i) {
    if (options[i]->count() == 0) continue;
    // A bare boolean flag reads as an empty value.
    const std::string& value = given[table[i].name];
    const bool bare = table[i].is_switch && value.empty();
    table[i].set(config, bare ? std::string("true") : value, "--" + table[i].name);
  }
  config.overwrite = overwrite;
  config.train.resume_other_run = resume_other_run;
  validate(config);
  return config;
}

void validate(const Config& c) {
  const auto& t = c.train;
  CG_REQUIRE(t.batch_size > 0 && t.batch_size <= kMaxBatchSize, ConfigError,
             "--batch-size must be in [1, ", kMaxBatchSize, "], got ", t.batch_size);
  CG_REQUIRE(t.steps >= 0 && t.epochs >= 0, ConfigError, "--steps and --epochs must be >= 0");
  CG_REQUIRE(t.steps > 0 || t.epochs > 0, ConfigError, "set --steps or --epochs above 0");
  // Floats are finite (the option parser checks); these bounds keep them meaningful.
  for (const auto& [flag, lr] : {std::pair{"--lr-g", t.lr_g}, std::pair{"--lr-d", t.lr_d}}) {
    CG_REQUIRE(lr > 0 && lr <= 1, ConfigError, flag, " must be in (0, 1], got ", lr);
  }
  CG_REQUIRE(t.lr_decay_start >= 0 && t.lr_decay_start <= 1, ConfigError,
             "--lr-decay-start must be in [0, 1], got ", t.lr_decay_start);
  CG_REQUIRE(t.beta1 >= 0 && t.beta1 < 1 && t.beta2 >= 0 && t.beta2 < 1, ConfigError,
             "--beta1 and --beta2 must be in [0, 1)");
  CG_REQUIRE(t.lambda_cycle >= 0 && t.lambda_cycle <= 1000, ConfigError,
             "--lambda-cycle must be in [0, 1000], got ", t.lambda_cycle);
  CG_REQUIRE(t.identity_weight >= 0 && t.identity_weight <= 1000, ConfigError,
             "--identity-weight must be in [0, 1000], got ", t.identity_weight);
  CG_REQUIRE(t.rmsprop_alpha >= 0 && t.rmsprop_alpha < 1, ConfigError,
             "--rmsprop-alpha must be in [0, 1), got ", t.rmsprop_alpha);
  CG_REQUIRE(t.rmsprop_eps > 0 && t.rmsprop_eps <= 1, ConfigError,
             "--rmsprop-eps must be in (0, 1], got ", t.rmsprop_eps);
  CG_REQUIRE(t.nonfinite_limit >= 1, ConfigError, "--nonfinite-limit must be at least 1, got ",
             t.nonfinite_limit);
  CG_REQUIRE(t.pool_size >= 0, ConfigError, "--pool-size must be >= 0, got ", t.pool_size);
  CG_REQUIRE(t.keep_checkpoints >= 1, ConfigError, "--keep-checkpoints must be at least 1");
  CG_REQUIRE(t.log_every >= 0 && t.sample_every >= 0 && t.checkpoint_every >= 0, ConfigError,
             "--log-every, --sample-every and --checkpoint-every must be >= 0");
  CG_REQUIRE(c.threads >= 0, ConfigError, "--threads must be >= 0, got ", c.threads);
  CG_REQUIRE(c.dist.backend == "auto" || c.dist.backend == "mpi" || c.dist.backend == "nccl",
             ConfigError, "--backend: expected auto, mpi or nccl, got '", c.dist.backend, "'");
  CG_REQUIRE(c.dist.bucket_mb > 0 && c.dist.bucket_mb <= 4096, ConfigError,
             "--bucket-mb must be in (0, 4096], got ", c.dist.bucket_mb);
  CG_REQUIRE(t.replica_check_every >= 0, ConfigError, "--replica-check-every must be >= 0");
  CG_REQUIRE(!t.run_dir.empty(), ConfigError, "--run-dir must not be empty");
  CG_REQUIRE(c.eval.batch_size >= 1, ConfigError, "--eval-batch-size must be at least 1, got ",
             c.eval.batch_size);
  CG_REQUIRE(c.eval.fid_images == 0 || c.eval.fid_images >= 2, ConfigError,
             "--fid-images must be 0 (no FID/KID) or at least 2, got ", c.eval.fid_images);
  const auto& metrics = eval::metric_names();
  CG_REQUIRE(std::find(metrics.begin(), metrics.end(), t.best_metric) != metrics.end(), ConfigError,
             "--best-metric: expected fid-AtoB, fid-BtoA, kid-AtoB or kid-BtoA, got '",
             t.best_metric, "'");
  try {
    torch::Device device(t.device);
    (void)device;
  } catch (const std::exception&) {
    throw ConfigError("--device: expected cpu, cuda or cuda:N, got '" + t.device + "'");
  }
  CG_REQUIRE(c.dist.backend != "nccl" || torch::Device(t.device).is_cuda(), ConfigError,
             "--backend nccl needs --device cuda");
  if (!t.resume.empty() && t.resume != "auto") {
    CG_REQUIRE(std::filesystem::exists(t.resume), ConfigError, "--resume: checkpoint ", t.resume,
               " does not exist");
  }
  const auto& m = c.model;
  for (int64_t ch : {m.channels_a, m.channels_b}) {
    CG_REQUIRE(ch == 1 || ch == 3, ConfigError, "--channels-a/--channels-b must be 1 or 3, got ",
               ch);
  }
  CG_REQUIRE(m.unet_decoder_filters.size() + 1 == m.unet_encoder_filters.size(), ConfigError,
             "--unet-decoder-filters needs one entry fewer than --unet-encoder-filters (",
             m.unet_encoder_filters.size(), " given)");
  const int64_t factor = m.generator == model::GeneratorArch::kUnet
                             ? int64_t{1} << (m.unet_encoder_filters.size() - 1)
                             : 4;
  CG_REQUIRE(c.data.image_size <= data::kMaxImageSide, ConfigError, "--image-size must be at most ",
             data::kMaxImageSide, ", got ", c.data.image_size);
  CG_REQUIRE(c.data.image_size > 0 && c.data.image_size % factor == 0, ConfigError, "--image-size ",
             c.data.image_size, " must be a positive multiple of ", factor, " for the ",
             model::to_string(m.generator), " generator");
  if (m.discriminator == model::DiscriminatorArch::kPatch) {
    const int64_t min_size = int64_t{1} << (m.n_layers + 2);
    CG_REQUIRE(c.data.image_size >= min_size, ConfigError, "--image-size ", c.data.image_size,
               " is too small for a PatchGAN of ", m.n_layers, " layers (at least ", min_size, ")");
  }
  CG_REQUIRE(!c.data.source.empty(), ConfigError,
             "--data is required: a data set directory (`cyclegan_data demo --output data/demo` "
             "builds the demo one) or 'synthetic'");
  if (c.data.source != "synthetic") {
    CG_REQUIRE(std::filesystem::is_directory(c.data.source), ConfigError, "--data: ", c.data.source,
               " is not a directory (expected a data set made by cyclegan_data, or 'synthetic')");
  }
  CG_REQUIRE(c.data.loader_threads >= 1 && c.data.loader_threads <= kMaxLoaderThreads, ConfigError,
             "--loader-threads must be in [1, ", kMaxLoaderThreads, "], got ",
             c.data.loader_threads);
  CG_REQUIRE(c.data.prefetch >= 1 && c.data.prefetch <= kMaxPrefetch, ConfigError,
             "--prefetch must be in [1, ", kMaxPrefetch, "], got ", c.data.prefetch);
  CG_REQUIRE(c.data.synthetic_images >= t.batch_size, ConfigError, "--synthetic-images (",
             c.data.synthetic_images, ") must be at least --batch-size (", t.batch_size, ")");
  if (c.data.source == "synthetic") {
    // Both domains are generated in memory up front: bound them before allocating.
    const double bytes = 2.0 * static_cast<double>(c.data.synthetic_images) * 3 * 4 *
                         static_cast<double>(c.data.image_size) *
                         static_cast<double>(c.data.image_size);
    CG_REQUIRE(bytes <= kMaxSyntheticBytes, ConfigError, "--synthetic-images ",
               c.data.synthetic_images, " at --image-size ", c.data.image_size, " would take ",
               bytes / (1 << 30), " GiB of memory (at most ", kMaxSyntheticBytes / (1 << 30),
               "): use fewer images or a data set directory");
  }
  CG_REQUIRE(t.eval_every >= 0, ConfigError, "--eval-every must be >= 0, got ", t.eval_every);
  CG_REQUIRE(t.eval_every == 0 || c.data.source != "synthetic", ConfigError,
             "--eval-every needs a data set with a test split (--data DIR), not 'synthetic'");
  CG_REQUIRE(c.metrics.port >= 0 && c.metrics.port < 65536, ConfigError,
             "--metrics-port must be 0 (off) or a TCP port, got ", c.metrics.port);
  CG_REQUIRE(!c.metrics.bind.empty(), ConfigError, "--metrics-bind must not be empty");
  CG_REQUIRE(c.metrics.push_interval > 0 && c.metrics.push_interval <= 86400, ConfigError,
             "--push-interval must be in (0, 86400] seconds, got ", c.metrics.push_interval);
}

std::string resolve_backend(const Config& config, int world_size) {
  const bool on_cuda = torch::Device(config.train.device).is_cuda();
  const std::string& asked = config.dist.backend;
  const std::string backend = asked == "auto" ? (on_cuda ? "nccl" : "mpi") : asked;
  CG_REQUIRE(backend != "mpi" || !on_cuda || world_size == 1, ConfigError,
             "--backend mpi reduces CPU tensors: use --backend nccl with --device cuda");
#ifndef CYCLEGAN_WITH_CUDA
  CG_REQUIRE(backend != "nccl", ConfigError, "--backend nccl: this build has no CUDA/NCCL");
#endif
  return backend;
}

nlohmann::json to_json(const Config& config) {
  nlohmann::json out = {{"preset", config.preset}};
  for (const auto& spec : option_table()) out[spec.name] = spec.get(config);
  return out;
}

}  // namespace cg::cli
