#include "common/log.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"

namespace cg::log {
namespace {
std::mutex g_mutex;
int g_rank = 0;
Level g_min_level = Level::kInfo;
std::ofstream g_file;
// The lines written before add_file: a run's start-up (the checks made before its run
// directory is written) belongs in its log too. Bounded, for processes that never add one.
std::vector<std::string> g_early;
bool g_file_added = false;
constexpr size_t kMaxEarlyLines = 1000;
}  // namespace

void configure(int rank, Level min_level) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_rank = rank;
  g_min_level = min_level;
}

void add_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_file.is_open()) g_file.close();
  g_file.open(path, std::ios::app);
  CG_REQUIRE(g_file.is_open(), FileError, "cannot open log file ", path);
  if (!g_file_added) {
    for (const std::string& line : g_early) g_file << line;
    g_file << std::flush;
    g_early.clear();
    g_early.shrink_to_fit();
    g_file_added = true;
  }
}

void write(Level level, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (level < g_min_level) return;
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
  static const char* kNames[] = {"debug", "info", "warning", "error"};
  std::ostringstream line;
  line << "[" << stamp << " rank " << g_rank;
  if (level != Level::kInfo) line << " " << kNames[static_cast<int>(level)];
  line << "] " << message << "\n";
  std::cerr << line.str() << std::flush;
  if (g_file.is_open()) {
    g_file << line.str() << std::flush;
  } else if (!g_file_added && g_early.size() < kMaxEarlyLines) {
    g_early.push_back(line.str());
  }
}

}  // namespace cg::log
