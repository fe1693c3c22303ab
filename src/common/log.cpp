#include "common/log.h"

#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>

namespace cg::log {
namespace {
std::mutex g_mutex;
int g_rank = 0;
Level g_min_level = Level::kInfo;
}  // namespace

void configure(int rank, Level min_level) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_rank = rank;
  g_min_level = min_level;
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
  std::cerr << "[" << stamp << " rank " << g_rank;
  if (level != Level::kInfo) std::cerr << " " << kNames[static_cast<int>(level)];
  std::cerr << "] " << message << std::endl;
}

}  // namespace cg::log
