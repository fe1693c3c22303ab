#pragma once
// A progress bar on stderr for the dataset tool: redrawn in place on a terminal, a plain
// line every 10% otherwise (logs, CI). Not thread-safe: one thread advances it.
#include <chrono>
#include <cstdint>
#include <string>

namespace cg::tools {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();  // ends the line
  void advance(int64_t n = 1);

 private:
  void draw(bool force);
  std::string label_;
  int64_t total_, done_ = 0, last_decile_ = -1;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace cg::tools
