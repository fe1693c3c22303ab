#include "data/permutation.h"

#include <numeric>

#include "common/rng.h"

namespace cg::data {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, uint64_t stream, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  SplitMix64 rng(mix_seed(seed, stream, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace cg::data
