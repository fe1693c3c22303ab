#pragma once
// What the command-line tests share: parsing an argument list as cyclegan_dist would, the
// one error it gives, and a config file to pass with --config.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "common/error.h"
#include "common/file_util.h"

namespace cg::cli::testing {

// Parses `args` as given (no --data added).
inline Config parse_exactly(std::vector<std::string> args) {
  args.insert(args.begin(), "cyclegan_dist");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  auto config = parse_command_line(static_cast<int>(argv.size()), argv.data());
  if (!config) throw std::runtime_error("help was printed");
  return *config;
}

// Parses `args` after `--data synthetic` (a later --data wins).
inline Config parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", "synthetic"});
  return parse_exactly(std::move(args));
}

inline std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The one-line ConfigError message parse(args) throws ("" when it throws none).
inline std::string one_line_error_of(std::vector<std::string> args) {
  const std::string error = error_of(std::move(args));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

inline std::string write_config(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("cyclegan_cli_" + name + ".json");
  write_file_atomic(path.string(), text);
  return path.string();
}

// `config` resolved to JSON (as config.json holds it), written to a file named after
// `name`, and parsed back with --config.
inline Config read_back(const std::string& name, const Config& config) {
  return parse({"--config", write_config(name, to_json(config).dump())});
}

}  // namespace cg::cli::testing
