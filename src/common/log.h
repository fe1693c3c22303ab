#pragma once
// Rank-aware logging to stderr: "[2026-11-28 15:20:41 rank 0] message". Thread-safe.
// A small hand-written logger: spdlog from Debian is built against fmt 9 while LibTorch
// ships fmt 12 headers on the include path, and mixing the two breaks the ODR.
#include <sstream>
#include <string>

namespace cg::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

/// Sets the rank shown in every line (default 0) and the lowest level printed.
void configure(int rank, Level min_level = Level::kInfo);

/// Also appends every line to `path` from now on (the run directory's log), and, the first
/// time, the lines written before it (up to 1000). Throws FileError when the file cannot be
/// opened.
void add_file(const std::string& path);

/// Writes one line at `level`.
void write(Level level, const std::string& message);

template <typename... Args>
void info(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  write(Level::kInfo, out.str());
}
template <typename... Args>
void warn(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  write(Level::kWarn, out.str());
}
template <typename... Args>
void error(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  write(Level::kError, out.str());
}

}  // namespace cg::log
