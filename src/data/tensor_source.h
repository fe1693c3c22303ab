#pragma once
// An UnpairedSource over images held in memory: each epoch draws every full batch of A
// and of B in its own shuffled order. Used for tests, the overfit check and generated data.
#include "data/unpaired_source.h"

namespace cg::data {

class TensorSource : public UnpairedSource {
 public:
  /// images_a: (N_a, C_a, H, W), images_b: (N_b, C_b, H, W), float in the image range.
  /// Every rank of `world` sees the same shuffled global batches of batch_size * world
  /// images and takes slice `rank` of each, so an epoch has
  /// min(N_a, N_b) / (batch_size * world) batches on every rank. shuffle=false keeps the
  /// stored order.
  TensorSource(torch::Tensor images_a, torch::Tensor images_b, int64_t batch_size, uint64_t seed,
               bool shuffle = true, int rank = 0, int world = 1);

  UnpairedBatch next() override;
  int64_t batches_per_epoch() const override { return batches_per_epoch_; }
  SourcePosition position() const override { return position_; }
  void seek(SourcePosition position) override;
  int64_t channels_a() const override { return images_a_.size(1); }
  int64_t channels_b() const override { return images_b_.size(1); }

 private:
  torch::Tensor gather(const torch::Tensor& images, const std::vector<int64_t>& order) const;
  void start_epoch(int64_t epoch);

  torch::Tensor images_a_, images_b_;
  int64_t batch_size_;
  uint64_t seed_;
  int rank_, world_;
  bool shuffle_;
  int64_t batches_per_epoch_;
  SourcePosition position_;
  std::vector<int64_t> order_a_, order_b_;
};

}  // namespace cg::data
