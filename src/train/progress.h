#pragma once
// The progress line: step/total, losses, images/s and ETA. Every `every` steps it is
// logged as a plain line; on a terminal it is also rewritten in place at every step.
#include <chrono>
#include <cstdint>
#include <string>

namespace cg::train {

class Progress {
 public:
  Progress(int64_t first_step, int64_t total_steps, int64_t every);

  /// Reports that `step` (1-based count of steps done) finished, having processed
  /// `images` images since the last call; `losses` is a preformatted summary.
  void update(int64_t step, int64_t images, const std::string& losses);

  double images_per_second() const { return rate_; }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t first_step_, total_steps_, every_;
  bool tty_;
  Clock::time_point start_, last_;
  double rate_ = 0.0;
  int64_t images_since_last_ = 0;
};

}  // namespace cg::train
