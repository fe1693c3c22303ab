#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace cg::train {

double lr_factor(int64_t step, int64_t total_steps, double decay_start) {
  const auto start =
      static_cast<int64_t>(std::floor(decay_start * static_cast<double>(total_steps)));
  if (step < start || total_steps <= start) return 1.0;
  const double progress =
      static_cast<double>(step - start) / static_cast<double>(total_steps - start);
  return std::max(0.0, 1.0 - progress);
}

}  // namespace cg::train
