#pragma once
// Runs fn(i) for i in [begin, end) on `threads` threads; rethrows the exception of the
// lowest failing index after all threads stopped.
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cg::tools {

inline void parallel_for(int64_t begin, int64_t end, int threads,
                         const std::function<void(int64_t)>& fn) {
  std::atomic<int64_t> next{begin};
  std::mutex mutex;
  int64_t failed_at = end;
  std::exception_ptr error;
  auto work = [&] {
    for (int64_t i = next++; i < end; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (i < failed_at) {
          failed_at = i;
          error = std::current_exception();
        }
        next = end;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace cg::tools
