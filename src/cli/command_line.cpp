#include "cli/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <utility>
#include <vector>

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

// The "preset" key of a config object, or `fallback` when it has none.
std::string preset_key(const nlohmann::json& doc, const std::string& where,
                       const std::string& fallback) {
  if (!doc.contains("preset")) return fallback;
  CG_REQUIRE(doc["preset"].is_string(), ConfigError, where,
             ": option 'preset' must be a string, got ", doc["preset"].dump());
  return doc["preset"].get<std::string>();
}

// The message of CLI11's ArgumentMismatch for a value-taking flag last on the command line
// ("--steps: 1 required TEXT missing"), in our words; any other as it is.
std::string missing_value_message(const std::string& what) {
  const size_t colon = what.find(':');
  if (what.rfind("--", 0) == 0 && colon != std::string::npos &&
      what.find(" missing") != std::string::npos) {
    return what.substr(0, colon) + " needs a value (see --help)";
  }
  return what + " (see --help)";
}

// A value that is a flag: CLI11 gives a value-taking flag the next argument whatever it
// is, so `--steps --batch-size 4` sets steps to "--batch-size" (and leaves 4 stray).
bool looks_like_flag(const std::string& value) {
  return value.size() > 2 && value[0] == '-' && value[1] == '-' &&
         std::isalpha(static_cast<unsigned char>(value[2]));
}

// The error for the first argument CLI11 could not place (it lists them last to first:
// "0.1 --lr" for `--lr 0.1`). One dash or underscores for a known flag get a suggestion.
std::string unexpected_argument(const CLI::App& app, const std::string& arg) {
  const bool is_option = arg.size() > 1 && arg[0] == '-' && arg != "--" &&
                         !std::isdigit(static_cast<unsigned char>(arg[1])) && arg[1] != '.';
  if (!is_option) return "unexpected argument '" + arg + "': flags are --name VALUE (see --help)";
  const std::string flag = arg.substr(0, arg.find('='));
  std::string key = flag;
  key.erase(0, key.find_first_not_of('-'));
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) {
    return ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
  });
  if (!key.empty() && app.get_option_no_throw("--" + key) != nullptr) {
    return "unknown option " + flag + " (did you mean --" + key + "?)";
  }
  return "unknown option " + flag + " (see --help)";
}

// The index of the first byte of `text` that is not well-formed UTF-8 (Unicode 15, table
// 3-7: no overlong forms, no surrogates, nothing above U+10FFFF; nlohmann::json's dump()
// refuses the same), or npos. A sequence cut short by the end is reported at its lead byte.
size_t invalid_utf8_at(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t more = 0;
    unsigned char low = 0x80, high = 0xBF;  // range of the byte after the lead
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      more = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      more = 2;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      more = 3;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    for (size_t k = 1; k <= more; ++k) {
      if (i + k == text.size()) return i;
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if (byte < (k == 1 ? low : 0x80) || byte > (k == 1 ? high : 0xBF)) return i + k;
    }
    i += more + 1;
  }
  return std::string::npos;
}

// The resolved config (to_json) records every string option as JSON text, so each must be
// UTF-8: else writing config.json fails, after the run directory was made.
void check_utf8(const std::string& name, const std::string& text, bool is_path) {
  const size_t at = invalid_utf8_at(text);
  if (at == std::string::npos) return;
  char byte[8];
  std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>(text[at]));
  throw ConfigError(
      name + ": the " + (is_path ? "path" : "value") + " is not valid UTF-8 (byte " + byte +
      " at index " + std::to_string(at) +
      "); config.json records it as text: " + (is_path ? "rename it" : "give it in UTF-8"));
}

}  // namespace

void ValueSources::set_file(const std::string& name, const std::string& path) {
  file_of_[name] = path;
}

void ValueSources::set_flag(const std::string& name) { file_of_.erase(name); }

std::string ValueSources::name(const std::string& option) const {
  const auto file = file_of_.find(option);
  return file == file_of_.end() ? "--" + option : option + " in config file " + file->second;
}

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
  Config config = preset(preset_key(doc, where, "cifar-colorize"));
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
  // What CLI11 cannot place is reported below, first argument first.
  app.allow_extras();
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
  } catch (const CLI::ArgumentMismatch& e) {
    throw ConfigError(missing_value_message(e.what()));
  } catch (const CLI::ParseError& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  const auto& table = option_table();
  std::vector<std::pair<std::string, std::string>> values = {{"preset", preset_name},
                                                             {"config", config_path}};
  for (const auto& spec : table) {
    if (!spec.is_switch) values.emplace_back(spec.name, given[spec.name]);
  }
  for (const auto& [name, value] : values) {
    CG_REQUIRE(!looks_like_flag(value), ConfigError, "--", name,
               " needs a value, but the next argument is the flag ",
               value.substr(0, value.find('=')), " (see --help)");
  }
  const std::vector<std::string> extras = app.remaining();
  if (!extras.empty()) throw ConfigError(unexpected_argument(app, extras.front()));

  ValueSources sources;
  nlohmann::json file = nlohmann::json::object();
  const std::string where = "config file " + config_path;
  if (!config_path.empty()) file = read_config_file(config_path);
  bool preset_from_file = false;
  if (preset_name.empty()) {
    preset_from_file = file.contains("preset");
    preset_name = preset_key(file, where, "cifar-colorize");
  }
  Config config;
  try {
    config = preset(preset_name);
  } catch (const ConfigError& e) {
    // preset() names the flag ("--preset: unknown preset ..."); this name is the file's.
    if (!preset_from_file) throw;
    const std::string what = e.what();
    const size_t colon = what.find(':');
    throw ConfigError(where + ": option 'preset'" +
                      (colon == std::string::npos ? ": " + what : what.substr(colon)));
  }
  if (!config_path.empty()) {
    apply_json(config, file, where);
    for (const auto& [key, value] : file.items()) sources.set_file(key, config_path);
  }
  for (size_t i = 0; i < table.size(); ++i) {
    if (options[i]->count() == 0) continue;
    // A bare boolean flag reads as an empty value.
    const std::string& value = given[table[i].name];
    const bool bare = table[i].is_switch && value.empty();
    table[i].set(config, bare ? std::string("true") : value, "--" + table[i].name);
    sources.set_flag(table[i].name);
  }
  config.overwrite = overwrite;
  config.train.resume_other_run = resume_other_run;
  validate(config, sources);
  return config;
}

void validate(const Config& config) { validate(config, ValueSources{}); }

void validate(const Config& c, const ValueSources& sources) {
  const auto n = [&](const std::string& option) { return sources.name(option); };
  check_utf8("--preset", c.preset, false);
  for (const auto& spec : option_table()) {
    const nlohmann::json value = spec.get(c);
    if (value.is_string()) check_utf8(n(spec.name), value.get<std::string>(), spec.is_path);
  }
  const auto& t = c.train;
  CG_REQUIRE(t.batch_size > 0 && t.batch_size <= kMaxBatchSize, ConfigError, n("batch-size"),
             " must be in [1, ", kMaxBatchSize, "], got ", t.batch_size);
  for (const auto& [option, value] : {std::pair{"steps", t.steps}, std::pair{"epochs", t.epochs}}) {
    CG_REQUIRE(value >= 0, ConfigError, n(option), " must be >= 0, got ", value);
  }
  CG_REQUIRE(t.steps > 0 || t.epochs > 0, ConfigError, "set ", n("steps"), " or ", n("epochs"),
             " above 0");
  // Floats are finite (the option parser checks); these bounds keep them meaningful.
  for (const auto& [option, lr] : {std::pair{"lr-g", t.lr_g}, std::pair{"lr-d", t.lr_d}}) {
    CG_REQUIRE(lr > 0 && lr <= 1, ConfigError, n(option), " must be in (0, 1], got ", lr);
  }
  CG_REQUIRE(t.lr_decay_start >= 0 && t.lr_decay_start <= 1, ConfigError, n("lr-decay-start"),
             " must be in [0, 1], got ", t.lr_decay_start);
  for (const auto& [option, beta] : {std::pair{"beta1", t.beta1}, std::pair{"beta2", t.beta2}}) {
    CG_REQUIRE(beta >= 0 && beta < 1, ConfigError, n(option), " must be in [0, 1), got ", beta);
  }
  CG_REQUIRE(t.lambda_cycle >= 0 && t.lambda_cycle <= 1000, ConfigError, n("lambda-cycle"),
             " must be in [0, 1000], got ", t.lambda_cycle);
  CG_REQUIRE(t.identity_weight >= 0 && t.identity_weight <= 1000, ConfigError, n("identity-weight"),
             " must be in [0, 1000], got ", t.identity_weight);
  CG_REQUIRE(t.rmsprop_alpha >= 0 && t.rmsprop_alpha < 1, ConfigError, n("rmsprop-alpha"),
             " must be in [0, 1), got ", t.rmsprop_alpha);
  CG_REQUIRE(t.rmsprop_eps > 0 && t.rmsprop_eps <= 1, ConfigError, n("rmsprop-eps"),
             " must be in (0, 1], got ", t.rmsprop_eps);
  CG_REQUIRE(t.nonfinite_limit >= 1, ConfigError, n("nonfinite-limit"), " must be at least 1, got ",
             t.nonfinite_limit);
  CG_REQUIRE(t.pool_size >= 0, ConfigError, n("pool-size"), " must be >= 0, got ", t.pool_size);
  CG_REQUIRE(t.keep_checkpoints >= 1, ConfigError, n("keep-checkpoints"),
             " must be at least 1, got ", t.keep_checkpoints);
  for (const auto& [option, every] :
       {std::pair{"log-every", t.log_every}, std::pair{"sample-every", t.sample_every},
        std::pair{"checkpoint-every", t.checkpoint_every},
        std::pair{"replica-check-every", t.replica_check_every},
        std::pair{"eval-every", t.eval_every}}) {
    CG_REQUIRE(every >= 0, ConfigError, n(option), " must be >= 0, got ", every);
  }
  CG_REQUIRE(c.threads >= 0, ConfigError, n("threads"), " must be >= 0, got ", c.threads);
  CG_REQUIRE(c.dist.backend == "auto" || c.dist.backend == "mpi" || c.dist.backend == "nccl",
             ConfigError, n("backend"), ": expected auto, mpi or nccl, got '", c.dist.backend, "'");
  CG_REQUIRE(c.dist.bucket_mb > 0 && c.dist.bucket_mb <= 4096, ConfigError, n("bucket-mb"),
             " must be in (0, 4096], got ", c.dist.bucket_mb);
  CG_REQUIRE(!t.run_dir.empty(), ConfigError, n("run-dir"), " must not be empty");
  CG_REQUIRE(c.eval.batch_size >= 1, ConfigError, n("eval-batch-size"), " must be at least 1, got ",
             c.eval.batch_size);
  CG_REQUIRE(c.eval.fid_images == 0 || c.eval.fid_images >= 2, ConfigError, n("fid-images"),
             " must be 0 (no FID/KID) or at least 2, got ", c.eval.fid_images);
  const auto& metrics = eval::metric_names();
  CG_REQUIRE(std::find(metrics.begin(), metrics.end(), t.best_metric) != metrics.end(), ConfigError,
             n("best-metric"), ": expected fid-AtoB, fid-BtoA, kid-AtoB or kid-BtoA, got '",
             t.best_metric, "'");
  try {
    torch::Device device(t.device);
    (void)device;
  } catch (const std::exception&) {
    throw ConfigError(n("device") + ": expected cpu, cuda or cuda:N, got '" + t.device + "'");
  }
  CG_REQUIRE(c.dist.backend != "nccl" || torch::Device(t.device).is_cuda(), ConfigError,
             n("backend"), " nccl needs ", n("device"), " cuda, got '", t.device, "'");
  if (!t.resume.empty() && t.resume != "auto") {
    CG_REQUIRE(std::filesystem::exists(t.resume), ConfigError, n("resume"), ": checkpoint ",
               t.resume, " does not exist");
  }
  // --overwrite and --resume-other-run are flags of this invocation, never from a file.
  if (t.resume_other_run) {
    CG_REQUIRE(!t.resume.empty(), ConfigError,
               "--resume-other-run needs --resume PATH (a checkpoint of the other run)");
    CG_REQUIRE(t.resume != "auto", ConfigError,
               "--resume-other-run needs --resume PATH: ", n("resume"),
               " auto only takes the run directory's own checkpoints");
  }
  CG_REQUIRE(!c.overwrite || t.resume.empty(), ConfigError, "--overwrite starts a new run; ",
             n("resume"), " continues one: give one of them");
  const auto& m = c.model;
  for (const auto& [option, channels] :
       {std::pair{"channels-a", m.channels_a}, std::pair{"channels-b", m.channels_b}}) {
    CG_REQUIRE(channels == 1 || channels == 3, ConfigError, n(option), " must be 1 or 3, got ",
               channels);
  }
  CG_REQUIRE(m.unet_decoder_filters.size() + 1 == m.unet_encoder_filters.size(), ConfigError,
             n("unet-decoder-filters"), " needs one entry fewer than ", n("unet-encoder-filters"),
             " (", m.unet_encoder_filters.size(), "), got ", m.unet_decoder_filters.size());
  const int64_t factor = m.generator == model::GeneratorArch::kUnet
                             ? int64_t{1} << (m.unet_encoder_filters.size() - 1)
                             : 4;
  CG_REQUIRE(c.data.image_size <= data::kMaxImageSide, ConfigError, n("image-size"),
             " must be at most ", data::kMaxImageSide, ", got ", c.data.image_size);
  CG_REQUIRE(c.data.image_size > 0 && c.data.image_size % factor == 0, ConfigError, n("image-size"),
             " must be a positive multiple of ", factor, " for the ", model::to_string(m.generator),
             " generator, got ", c.data.image_size);
  if (m.discriminator == model::DiscriminatorArch::kPatch) {
    const int64_t min_size = int64_t{1} << (m.n_layers + 2);
    CG_REQUIRE(c.data.image_size >= min_size, ConfigError, n("image-size"),
               " is too small for a PatchGAN of ", m.n_layers, " layers: at least ", min_size,
               ", got ", c.data.image_size);
  }
  CG_REQUIRE(!c.data.source.empty(), ConfigError, n("data"),
             " is required: a data set directory (`cyclegan_data demo --output data/demo` "
             "builds the demo one) or 'synthetic'");
  if (c.data.source != "synthetic") {
    CG_REQUIRE(std::filesystem::is_directory(c.data.source), ConfigError, n("data"), ": ",
               c.data.source,
               " is not a directory (expected a data set made by cyclegan_data, or 'synthetic')");
  }
  CG_REQUIRE(c.data.loader_threads >= 1 && c.data.loader_threads <= kMaxLoaderThreads, ConfigError,
             n("loader-threads"), " must be in [1, ", kMaxLoaderThreads, "], got ",
             c.data.loader_threads);
  CG_REQUIRE(c.data.prefetch >= 1 && c.data.prefetch <= kMaxPrefetch, ConfigError, n("prefetch"),
             " must be in [1, ", kMaxPrefetch, "], got ", c.data.prefetch);
  CG_REQUIRE(c.data.synthetic_images >= t.batch_size, ConfigError, n("synthetic-images"), " (",
             c.data.synthetic_images, ") must be at least ", n("batch-size"), " (", t.batch_size,
             ")");
  if (c.data.source == "synthetic") {
    // Both domains are generated in memory up front: bound them before allocating.
    const double bytes = 2.0 * static_cast<double>(c.data.synthetic_images) * 3 * 4 *
                         static_cast<double>(c.data.image_size) *
                         static_cast<double>(c.data.image_size);
    CG_REQUIRE(bytes <= kMaxSyntheticBytes, ConfigError, n("synthetic-images"), " ",
               c.data.synthetic_images, " at ", n("image-size"), " ", c.data.image_size,
               " would take ", bytes / (1 << 30), " GiB of memory (at most ",
               kMaxSyntheticBytes / (1 << 30), "): use fewer images or a data set directory");
  }
  CG_REQUIRE(t.eval_every == 0 || c.data.source != "synthetic", ConfigError, n("eval-every"),
             " needs a data set with a test split (", n("data"), " DIR), not 'synthetic'");
  CG_REQUIRE(c.metrics.port >= 0 && c.metrics.port < 65536, ConfigError, n("metrics-port"),
             " must be 0 (off) or a TCP port, got ", c.metrics.port);
  CG_REQUIRE(!c.metrics.bind.empty(), ConfigError, n("metrics-bind"), " must not be empty");
  CG_REQUIRE(c.metrics.push_interval > 0 && c.metrics.push_interval <= 86400, ConfigError,
             n("push-interval"), " must be in (0, 86400] seconds, got ", c.metrics.push_interval);
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
