#pragma once
// The training data loader: an UnpairedSource over a data set directory. Domains A and B are
// drawn independently, each in its own order. Background threads read and transform whole
// batches ahead into a bounded queue.
//
// Order and augmentation are functions of (seed, domain, global sample position) alone:
// every rank computes the same global batches of batch_size x world images and reads only
// its own slice, so N ranks see exactly the samples, crops and flips that one rank with the
// combined batch would; and seek() restores a position exactly without replaying anything.
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "data/transforms.h"
#include "data/unpaired_source.h"

namespace cg::data {

struct LoaderOptions {
  int64_t batch_size = 1;   ///< images per domain per batch on this rank
  uint64_t seed = 0;        ///< order and augmentation derive from it
  int rank = 0, world = 1;  ///< this rank's slice of each global batch
  std::string split = "train";
  int64_t crop_size = 0;                   ///< model input size; 0: the stored size (no crop)
  bool flip = false;                       ///< random horizontal flips
  int64_t channels_a = 3, channels_b = 3;  ///< the model's channels (1 <-> 3 converted)
  float lo = -1.0f, hi = 1.0f;             ///< the model's value range
  int threads = 2;                         ///< background reader threads
  int64_t prefetch = 4;                    ///< batches kept ready ahead of the trainer
  bool pin_memory = false;  ///< allocate batches in page-locked memory (CUDA training)
};

class ShardSource : public UnpairedSource {
 public:
  /// Opens the data set at `dir` (see ImageSet for the errors) and starts the readers.
  /// Throws ConfigError when the crop does not fit the stored images or the batch is
  /// larger than the data set.
  ShardSource(const std::string& dir, LoaderOptions options);
  ~ShardSource() override;
  ShardSource(const ShardSource&) = delete;
  ShardSource& operator=(const ShardSource&) = delete;

  /// Blocks until the next batch is ready; rethrows a reader thread's error.
  UnpairedBatch next() override;
  int64_t batches_per_epoch() const override { return batches_per_epoch_; }
  SourcePosition position() const override;
  void seek(SourcePosition position) override;
  int64_t channels_a() const override { return options_.channels_a; }
  int64_t channels_b() const override { return options_.channels_b; }

  const ImageSet& images_a() const { return *set_a_; }
  const ImageSet& images_b() const { return *set_b_; }
  /// Batches ready in the queue now (for monitoring).
  int64_t queued() const override;
  /// Seconds next() spent waiting for a batch, in total.
  double wait_seconds() const { return wait_seconds_; }

  /// Builds batch `batch` (counted from epoch 0) synchronously, without the queue.
  UnpairedBatch make_batch(int64_t batch) const;

 private:
  struct Domain;
  void start_readers();
  void stop_readers();
  void reader_loop();
  void fill(const Domain& domain, int64_t batch, torch::Tensor& out) const;
  int64_t sample_index(const Domain& domain, int64_t global_sample) const;

  LoaderOptions options_;
  std::unique_ptr<ImageSet> set_a_, set_b_;
  std::unique_ptr<Domain> domain_a_, domain_b_;
  int64_t batches_per_epoch_ = 0;

  // Batches are numbered from epoch 0, batch 0. The trainer consumes `next_` next;
  // readers claim `claimed_` next and never run more than `prefetch` ahead.
  mutable std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::map<int64_t, UnpairedBatch> done_;
  std::exception_ptr error_;
  int64_t next_ = 0, claimed_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> readers_;
  double wait_seconds_ = 0.0;
};

}  // namespace cg::data
