#pragma once
// The interface the trainer reads batches through. Domains A and B are unpaired: each is
// drawn in its own order. A source is deterministic given its seed and position, so a
// checkpoint that stores position() resumes with the very batches that would have come.
#include <torch/torch.h>

#include <cstdint>

namespace cg::data {

struct UnpairedBatch {
  torch::Tensor a;  ///< (N, channels_a, H, W) float in the model's image range, on CPU
  torch::Tensor b;  ///< (N, channels_b, H, W) float in the model's image range, on CPU
};

/// Where a source is in its stream: the next batch is batch `batch` of epoch `epoch`.
struct SourcePosition {
  int64_t epoch = 0;
  int64_t batch = 0;
};

class UnpairedSource {
 public:
  virtual ~UnpairedSource() = default;
  /// Returns the batch at position() and advances by one (rolling over into the next epoch).
  virtual UnpairedBatch next() = 0;
  /// Batches in one epoch (the same on every rank).
  virtual int64_t batches_per_epoch() const = 0;
  virtual SourcePosition position() const = 0;
  /// Moves to `position`; the next batch is the one a fresh run reaching it would read.
  virtual void seek(SourcePosition position) = 0;
  virtual int64_t channels_a() const = 0;
  virtual int64_t channels_b() const = 0;
  /// Batches already prepared ahead of next() (0 for sources that read on demand).
  virtual int64_t queued() const { return 0; }
};

}  // namespace cg::data
