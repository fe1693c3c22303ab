#pragma once
// The one progress display of the trainer, the dataset tool and translate: "<label>
// <done>/<total>  <detail>  <rate> <unit>/s  ETA h:mm:ss". On a terminal (stderr is a TTY)
// the line, with a bar, is redrawn in place at most every 0.1 s; lasting lines go to the log
// (log::info, so also to a run's log file) at every `every` done or, with every = 0, at each
// tenth of the total, and at the end. Not thread-safe: one thread advances it.
#include <chrono>
#include <cstdint>
#include <string>

namespace cg {

class Progress {
 public:
  /// label: what is counted ("step", "trainA"); total: the count at the end; first: the
  /// count already done when it starts (a resumed run); every: lasting line period (0: each
  /// tenth); unit: what the rate counts.
  Progress(std::string label, int64_t total, int64_t first = 0, int64_t every = 0,
           std::string unit = "img");
  /// Ends an in-place line on a terminal.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` (count reached) after `items` more items (images) since the last call;
  /// `detail` is shown after the count (e.g. the losses).
  void update(int64_t done, int64_t items, const std::string& detail = "");

  /// update(done + n, n).
  void advance(int64_t n = 1) { update(done_ + n, n); }

  /// Items per second between the last two lines drawn.
  double items_per_second() const { return rate_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_, unit_;
  int64_t total_, first_, every_, done_, last_tenth_ = -1;
  bool tty_, drawn_in_place_ = false;
  Clock::time_point start_, last_;
  double rate_ = 0.0;
  int64_t items_since_last_ = 0;
};

}  // namespace cg
