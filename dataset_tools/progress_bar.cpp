#include "progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace cg::tools {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  draw(true);
}

ProgressBar::~ProgressBar() {
  draw(true);
  if (tty_) std::fputc('\n', stderr);
}

void ProgressBar::advance(int64_t n) {
  done_ += n;
  draw(false);
}

void ProgressBar::draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? done_ / seconds : 0.0;
  const int64_t decile = total_ > 0 ? done_ * 10 / total_ : 10;
  if (tty_) {
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    const int width = 30;
    const int filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld %.0f img/s", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), rate);
  } else {
    if (decile == last_decile_) return;
    std::fprintf(stderr, "%s: %lld/%lld (%.0f img/s)\n", label_.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), rate);
    last_decile_ = decile;
  }
  last_draw_ = now;
}

}  // namespace cg::tools
