#pragma once
#include <cstdint>

namespace cg::train {

/// Learning-rate multiplier at `step` (0-based) of `total_steps`: 1 until
/// decay_start * total_steps, then falling linearly, reaching 0 at total_steps (the
/// paper: constant for the first half, linear decay to zero over the second).
/// decay_start = 1 keeps the rate constant.
double lr_factor(int64_t step, int64_t total_steps, double decay_start);

}  // namespace cg::train
