#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/config.h"
#include "infer/saved_model.h"

namespace cg::cli {

/// Parses the command line of cyclegan_dist. Values come from --preset (default
/// cifar-colorize), then the JSON object in --config FILE (keys are flag names; a
/// resolved config.json from a run directory works), then the flags (a boolean flag given
/// bare, `--flip`, means true). Returns nullopt after printing the help for --help.
/// Throws ConfigError, one line naming the flag or the config file and key, for unknown
/// flags, stray arguments, a flag without its value, bad values and invalid combinations
/// (validate), before anything is written.
std::optional<Config> parse_command_line(int argc, const char* const* argv);

/// Applies the JSON object in file `path` on top of `config`.
void apply_config_file(Config& config, const std::string& path);

/// Applies the option values of the JSON object `doc` on top of `config`; `where` names
/// the source in errors ("config file runs/x/config.json").
void apply_json(Config& config, const nlohmann::json& doc, const std::string& where);

/// The configuration a resolved config (to_json's output, as stored in every checkpoint)
/// describes: its preset, then its values. Throws ConfigError naming `where` and the key.
Config from_json(const nlohmann::json& doc, const std::string& where);

/// The model a checkpoint's stored config (`doc`, see from_json) describes: what
/// infer::load_saved_model needs to rebuild it. Throws ConfigError naming `where` and the key.
infer::ModelDescription model_description(const nlohmann::json& doc, const std::string& where);

/// Where each option's value came from, so that an error names what the user has to
/// change: its flag, or its key in the config file. A value of the preset, or of nobody
/// recorded, is named by its flag (a flag is how to change it).
class ValueSources {
 public:
  /// Option `name` ("lr-g") took its value from the config file at `path`.
  void set_file(const std::string& name, const std::string& path);
  /// Option `name` took its value from its flag (over the config file's, if any).
  void set_flag(const std::string& name);
  /// How errors name option `name`: "lr-g in config file PATH" or "--lr-g".
  std::string name(const std::string& option) const;

 private:
  std::map<std::string, std::string> file_of_;  ///< option -> config file path
};

/// Checks each value's range, that every string the resolved config (to_json) records is
/// valid UTF-8, and settings that are fine alone but not together (such as --backend nccl
/// without --device cuda, or --overwrite with --resume). Errors name each option as
/// `sources` says; the one-argument form names them all by their flags. Throws
/// ConfigError. What needs the running job is checked when the Job is built (cli/job.h):
/// the --pushgateway URL by its adapter (metrics::parse_pushgateway_url), the visible
/// GPUs, and the backend (parallel::resolve_backend).
void validate(const Config& config, const ValueSources& sources);
void validate(const Config& config);

/// The gradient all-reduce backend of a validated `config` run on `world_size` ranks:
/// The resolved configuration, one key per option plus "preset".
nlohmann::json to_json(const Config& config);

}  // namespace cg::cli
