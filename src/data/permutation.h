#pragma once
#include <cstdint>
#include <vector>

namespace cg::data {

/// Permutation of [0, n) for one epoch of one stream, from SplitMix64 seeded by
/// (seed, stream, epoch) and a Fisher-Yates shuffle: identical on every platform
/// (std::shuffle is not).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, uint64_t stream, int64_t epoch);

}  // namespace cg::data
