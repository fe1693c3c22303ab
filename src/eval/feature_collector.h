#pragma once
// Collects the Inception features of one image set that several processes extract together:
// each pushes the images of the rows it owns, in any order and batch size; they are run
// through the extractor in batches of a fixed size as they come, so memory stays bounded by
// the batch, not the set. finish() adds the processes' tables up (each row is non-zero on
// exactly one process), giving every process all rows, in row order, whatever the number of
// processes.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "eval/inception_features.h"

namespace cg::eval {

/// Sums `tensor` (contiguous, CPU) in place across the processes that evaluate together;
/// every process must make the same calls in the same order. Empty: one process.
using SumAcrossRanks = std::function<void(torch::Tensor&)>;

class FeatureCollector {
 public:
  /// A table of `rows` features filled by `inception` (which must outlive this) in batches of
  /// `batch_size` images.
  FeatureCollector(int64_t rows, const InceptionFeatures& inception, int64_t batch_size);

  /// images: (N, C, H, W) float in [0, 1] on the CPU; rows[i] in [0, rows) is where image i
  /// goes. Runs the extractor once a batch is full.
  void push(const torch::Tensor& images, const std::vector<int64_t>& rows);

  /// Extracts what is pending, sums the tables across ranks, and returns all (rows, 2048)
  /// float32 features. Call once.
  torch::Tensor finish(const SumAcrossRanks& sum);

 private:
  void extract_pending();

  const InceptionFeatures& inception_;
  int64_t batch_size_;
  torch::Tensor table_;
  std::vector<torch::Tensor> pending_;  // (1, C, H, W) images waiting for a full batch
  std::vector<int64_t> pending_rows_;
};

}  // namespace cg::eval
