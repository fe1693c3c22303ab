#include "train/side_by_side.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>

#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cg::train {

// Compiled with -fopenmp and linked to LibTorch's own libgomp (src/train/CMakeLists.txt):
// the region below uses the same thread pool as LibTorch's operators, so no thread is
// added, and inside it each operator runs on the thread that calls it.
bool side_by_side_parallel() {
#ifdef _OPENMP
  return !omp_in_parallel() && at::get_num_threads() == 2;
#else
  return false;
#endif
}

void side_by_side(const std::function<void()>& first, const std::function<void()>& second) {
  if (!side_by_side_parallel()) {
    first();
    second();
    return;
  }
#ifdef _OPENMP
  const bool grad_enabled = c10::GradMode::is_enabled();
  std::exception_ptr errors[2];
#pragma omp parallel num_threads(2)
  {
    // Inside the region omp_get_max_threads() would still say 2, and oneDNN would build its
    // kernels for two threads: its weight-gradient reduction then waits for a second
    // thread that never comes. (MKL and LibTorch's own loops see the active region and
    // run on the calling thread.)
    omp_set_num_threads(1);
    // Autocast's cache of low-precision weight copies is one for the process, but each
    // thread counts its own autocast guards and clears the cache when its count returns
    // to 0: a piece's guard ending would clear the copies the other piece is still using
    // and make it cast again, and a weight cast twice sums its gradients in fp32 instead of
    // fp16 (other bits). So each thread counts one more level while in the region, and the
    // cache is cleared once both pieces have ended, as the pieces' own guards would.
    at::autocast::increment_nesting();
    // A team of one (the runtime may give fewer threads than asked) runs both pieces.
    for (int piece = omp_get_thread_num(); piece < 2; piece += omp_get_num_threads()) {
      try {
        const c10::AutoGradMode grad_mode(grad_enabled);
        if (piece == 0) {
          first();
        } else {
          second();
        }
      } catch (...) {
        errors[piece] = std::current_exception();
      }
    }
    at::autocast::decrement_nesting();
  }
  at::autocast::increment_nesting();
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
#endif
}

}  // namespace cg::train
