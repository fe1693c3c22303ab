#include "data/tensor_source.h"

#include <numeric>

#include "common/error.h"
#include "data/permutation.h"

namespace cg::data {

TensorSource::TensorSource(torch::Tensor images_a, torch::Tensor images_b, int64_t batch_size,
                           uint64_t seed, bool shuffle, int rank, int world)
    : images_a_(std::move(images_a)),
      images_b_(std::move(images_b)),
      batch_size_(batch_size),
      seed_(seed),
      rank_(rank),
      world_(world),
      shuffle_(shuffle) {
  TORCH_CHECK(images_a_.dim() == 4 && images_b_.dim() == 4,
              "TensorSource expects NCHW images, got ", images_a_.sizes(), " and ",
              images_b_.sizes());
  CG_REQUIRE(batch_size_ > 0, ConfigError, "batch size must be positive, got ", batch_size_);
  TORCH_CHECK(world_ >= 1 && rank_ >= 0 && rank_ < world_, "TensorSource: bad rank ", rank_, " of ",
              world_);
  batches_per_epoch_ = std::min(images_a_.size(0), images_b_.size(0)) / (batch_size_ * world_);
  CG_REQUIRE(batches_per_epoch_ > 0, ConfigError, "batch size ", batch_size_, " x ", world_,
             " rank(s) exceeds the ", std::min(images_a_.size(0), images_b_.size(0)),
             " images of the smaller domain");
  start_epoch(0);
}

void TensorSource::start_epoch(int64_t epoch) {
  position_ = {epoch, 0};
  if (shuffle_) {
    order_a_ = epoch_permutation(images_a_.size(0), seed_, 0xA, epoch);
    order_b_ = epoch_permutation(images_b_.size(0), seed_, 0xB, epoch);
  } else {
    order_a_.resize(images_a_.size(0));
    order_b_.resize(images_b_.size(0));
    std::iota(order_a_.begin(), order_a_.end(), int64_t{0});
    std::iota(order_b_.begin(), order_b_.end(), int64_t{0});
  }
}

torch::Tensor TensorSource::gather(const torch::Tensor& images,
                                   const std::vector<int64_t>& order) const {
  auto first = order.begin() + (position_.batch * world_ + rank_) * batch_size_;
  std::vector<int64_t> index(first, first + batch_size_);
  return images.index_select(0, torch::tensor(index, torch::kLong));
}

UnpairedBatch TensorSource::next() {
  UnpairedBatch batch{gather(images_a_, order_a_), gather(images_b_, order_b_)};
  if (++position_.batch == batches_per_epoch_) start_epoch(position_.epoch + 1);
  return batch;
}

void TensorSource::seek(SourcePosition position) {
  CG_REQUIRE(position.epoch >= 0 && position.batch >= 0 && position.batch < batches_per_epoch_,
             FileError, "data position epoch ", position.epoch, " batch ", position.batch,
             " does not exist in a source of ", batches_per_epoch_, " batches per epoch");
  start_epoch(position.epoch);
  position_.batch = position.batch;
}

}  // namespace cg::data
