#pragma once
// The replicas of a data-parallel run: every rank holds the same training state. At start
// all ranks take rank 0's; during the run a check compares the parameters across ranks.
// Collective: every rank of `comm` must make the same calls in the same order.
#include <cstdint>

#include "model/cycle_gan.h"
#include "parallel/communicator.h"
#include "train/training_state.h"

namespace cg::train {

/// Checks that every rank builds the same parameter names and shapes (ConfigError
/// otherwise: every rank must get the same flags), then sends rank 0's full training state
/// (save_training_state: weights, optimizers, step, data position, pools, RNG, scalers) to
/// all ranks and loads it there. Broadcasts through `comm` on state.device.
void synchronize_replicas(parallel::Communicator& comm, const TrainingState& state);

/// Throws Error naming the ranks whose parameters of `model` are not bitwise equal to rank
/// 0's (compared by CRC-32) after `step` steps. A no-op on one rank.
void check_replicas(parallel::Communicator& comm, const model::CycleGan& model, int64_t step);

}  // namespace cg::train
