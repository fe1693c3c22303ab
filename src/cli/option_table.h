#pragma once
// The one table of settable options: flag name, help text, how to set the value from a
// string (flags and config-file values alike) and how to read it back for the resolved
// config. Help text, the flag parser and the config-file reader all come from it.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/config.h"

namespace cg::cli {

struct OptionSpec {
  std::string name;  ///< flag without dashes, also the config-file key: "batch-size"
  std::string help;
  /// Parses `value` into the config. Throws ConfigError naming `where` and the problem.
  std::function<void(Config&, const std::string& value, const std::string& where)> set;
  std::function<nlohmann::json(const Config&)> get;
  /// A boolean: on the command line the bare flag (`--flip`) means true; a value
  /// (`--flip false`) is still taken. Config files always give the value.
  bool is_switch = false;
  /// A file or directory path (or a keyword such as 'auto' or 'synthetic'): errors about
  /// its text say "the path".
  bool is_path = false;
};

/// Every option, in help order.
const std::vector<OptionSpec>& option_table();

}  // namespace cg::cli
