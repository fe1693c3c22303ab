#pragma once
// One parallel loop over the elements of many arrays, as if they were one: the optimizers'
// update passes and the gradient check go over all parameters of a network in a single
// parallel region instead of one (or several) per parameter, which at batch 1 costs more
// than the arithmetic (each region wakes the OpenMP threads and waits for them).
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cg::train {

/// Calls body(part, begin, end) for element ranges [begin, end) of every part (a type with
/// an `n`, its element count), all of them in one at::parallel_for over the sum of the
/// counts: each thread's share may span several parts and split one.
template <typename Part, typename Body>
void for_all_elements(const std::vector<Part>& parts, const Body& body) {
  std::vector<int64_t> offsets(parts.size() + 1, 0);
  for (size_t i = 0; i < parts.size(); ++i) offsets[i + 1] = offsets[i] + parts[i].n;
  constexpr int64_t kGrain = 1 << 15;
  at::parallel_for(0, offsets.back(), kGrain, [&](int64_t begin, int64_t end) {
    auto i = static_cast<size_t>(std::upper_bound(offsets.begin(), offsets.end(), begin) -
                                 offsets.begin() - 1);
    for (; begin < end; ++i) {
      const int64_t stop = std::min(end, offsets[i + 1]);
      if (stop > begin) body(parts[i], begin - offsets[i], stop - offsets[i]);
      begin = stop;
    }
  });
}

}  // namespace cg::train
