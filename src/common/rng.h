#pragma once
// SplitMix64: a tiny counter-based generator whose sequence is fixed by its definition, so
// results are the same across standard libraries, ranks and the Python reference
// (tests/reference/cyclegan_ref.py implements the same three lines). Its whole state is
// one integer, which makes checkpointing it trivial.
#include <cstdint>

namespace cg {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed = 0) : state_(seed) {}

  /// Next 64 random bits.
  uint64_t next_u64();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform integer in [0, n); n > 0. (Plain modulo: the bias is below 2^-40 for our n.)
  uint64_t below(uint64_t n);

  uint64_t state() const { return state_; }
  void set_state(uint64_t state) { state_ = state; }

 private:
  uint64_t state_;
};

/// Mixes several integers into one seed (for per-rank, per-epoch, per-sample streams).
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

}  // namespace cg
