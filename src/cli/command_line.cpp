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

namespace cg::cli {
namespace {

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
  return {config.preset, config.model, config.data.image_size};
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

nlohmann::json to_json(const Config& config) {
  nlohmann::json out = {{"preset", config.preset}};
  for (const auto& spec : option_table()) out[spec.name] = spec.get(config);
  return out;
}

}  // namespace cg::cli
