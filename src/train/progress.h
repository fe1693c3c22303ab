#pragma once
// forwarding header: trainer.cpp switches to common/progress.h next
// (cg::Progress("step", total, first_step, every), update(step, images, losses),
// items_per_second()). This adapter keeps the trainer's call sites as they are until then.
#include <cstdint>
#include <string>

#include "common/progress.h"

namespace cg::train {

class Progress {
 public:
  Progress(int64_t first_step, int64_t total_steps, int64_t every)
      : progress_("step", total_steps, first_step, every > 0 ? every : 1) {}
  void update(int64_t step, int64_t images, const std::string& losses) {
    progress_.update(step, images, losses);
  }
  double images_per_second() const { return progress_.items_per_second(); }

 private:
  cg::Progress progress_;
};

}  // namespace cg::train
