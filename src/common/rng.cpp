#include "common/rng.h"

namespace cg {

uint64_t SplitMix64::next_u64() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

uint64_t SplitMix64::below(uint64_t n) { return next_u64() % n; }

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  SplitMix64 rng(a);
  uint64_t h = rng.next_u64();
  for (uint64_t v : {b, c, d}) {
    rng.set_state(h ^ v);
    h = rng.next_u64();
  }
  return h;
}

}  // namespace cg
