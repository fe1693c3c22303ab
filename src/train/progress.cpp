#include "train/progress.h"

#include <unistd.h>

#include <cstdio>

#include "common/log.h"

namespace cg::train {

Progress::Progress(int64_t first_step, int64_t total_steps, int64_t every)
    : first_step_(first_step),
      total_steps_(total_steps),
      every_(every > 0 ? every : 1),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_(start_) {}

void Progress::update(int64_t step, int64_t images, const std::string& losses) {
  images_since_last_ += images;
  const bool due = step % every_ == 0 || step == total_steps_;
  if (!tty_ && !due) return;
  auto now = Clock::now();
  double since_last = std::chrono::duration<double>(now - last_).count();
  if (since_last > 0) rate_ = static_cast<double>(images_since_last_) / since_last;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double per_step = elapsed / static_cast<double>(std::max<int64_t>(1, step - first_step_));
  auto eta = static_cast<int64_t>(per_step * static_cast<double>(total_steps_ - step));
  char line[512];
  std::snprintf(line, sizeof(line), "step %lld/%lld  %s  %.1f img/s  ETA %lld:%02lld:%02lld",
                static_cast<long long>(step), static_cast<long long>(total_steps_), losses.c_str(),
                rate_, static_cast<long long>(eta / 3600), static_cast<long long>(eta / 60 % 60),
                static_cast<long long>(eta % 60));
  if (tty_) {
    // In place on the terminal each step; a lasting line (and one in the log file) when due.
    std::fprintf(stderr, "\r\033[K");
    if (due) {
      log::info(line);
    } else {
      std::fprintf(stderr, "%s", line);
    }
    std::fflush(stderr);
  } else {
    log::info(line);
  }
  last_ = now;
  images_since_last_ = 0;
}

}  // namespace cg::train
