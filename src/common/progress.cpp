#include "common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/log.h"

namespace cg {

Progress::Progress(std::string label, int64_t total, int64_t first, int64_t every, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      first_(first),
      every_(std::max<int64_t>(every, 0)),
      done_(first),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (drawn_in_place_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

void Progress::update(int64_t done, int64_t items, const std::string& detail) {
  done_ = done;
  items_since_last_ += items;
  const int64_t tenth = total_ > 0 ? done * 10 / total_ : 10;
  const bool due = done >= total_ || (every_ > 0 ? done % every_ == 0 : tenth != last_tenth_);
  const auto now = Clock::now();
  // In place at most every 0.1 s: a terminal redrawn per image costs more than the image.
  if (!due && (!tty_ || now - last_ < std::chrono::milliseconds(100))) return;
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (since_last > 0) rate_ = static_cast<double>(items_since_last_) / since_last;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double per_step = elapsed / static_cast<double>(std::max<int64_t>(1, done - first_));
  const auto eta =
      static_cast<int64_t>(per_step * static_cast<double>(std::max<int64_t>(0, total_ - done)));
  char line[512];
  std::snprintf(line, sizeof(line), "%s %lld/%lld%s%s  %.1f %s/s  ETA %lld:%02lld:%02lld",
                label_.c_str(), static_cast<long long>(done), static_cast<long long>(total_),
                detail.empty() ? "" : "  ", detail.c_str(), rate_, unit_.c_str(),
                static_cast<long long>(eta / 3600), static_cast<long long>(eta / 60 % 60),
                static_cast<long long>(eta % 60));
  if (tty_) std::fprintf(stderr, "\r\033[K");
  if (due) {
    log::info(line);
    last_tenth_ = tenth;
    drawn_in_place_ = false;
  } else {
    const int width = 20;
    const int filled = total_ > 0
                           ? static_cast<int>(width * std::clamp<int64_t>(done, 0, total_) / total_)
                           : width;
    std::fprintf(stderr, "[%s%s] %s", std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), line);
    drawn_in_place_ = true;
  }
  std::fflush(stderr);
  last_ = now;
  items_since_last_ = 0;
}

}  // namespace cg
