#pragma once
// Two independent pieces of a step run at the same time, one per thread of LibTorch's
// OpenMP pool, instead of one after the other with every operator split over both threads.
//
// At batch 1 on small images an operator is too small to split well: on two threads the
// seed step ran 1.3x its one-thread rate. The step's two halves (G's and F's forward, the
// two discriminators' updates, the generators' two cycles) share no tensors, so each can
// have a thread to itself and its operators run whole.
#include <functional>

namespace cg::train {

/// Whether side_by_side() would run its two pieces on two threads now: LibTorch's OpenMP
/// is linked in, this thread is not already in a parallel region, and the intra-op thread
/// count (at::get_num_threads()) is exactly 2. With more threads each operator has cores
/// enough to split over; with one there is nothing to share.
bool side_by_side_parallel();

/// Runs first() and second() and returns when both have. With side_by_side_parallel(),
/// first() runs on this thread and second() on the pool's other thread, at the same time,
/// each with every LibTorch operator inside it on its own thread only; otherwise first()
/// then second() on this thread. The other thread starts with this thread's autograd
/// mode; autocast is not carried over (each piece sets its own), and its cache of
/// low-precision weight copies lasts until both pieces have ended. An exception from either
/// is rethrown here after both have ended (first()'s when both threw).
/// The two pieces must not touch the same tensors or objects, except parameters whose
/// gradients both accumulate (LibTorch's accumulation locks each parameter).
void side_by_side(const std::function<void()>& first, const std::function<void()>& second);

}  // namespace cg::train
