#pragma once
// History of generated images (Shrivastava et al. 2017; the CycleGAN paper's pool of 50):
// the discriminator sees a mix of current and earlier fakes. While the pool is not full,
// each image is stored and returned; afterwards, with probability 1/2 a random stored
// image is returned and replaced by the new one, otherwise the new one is returned.
// Not thread-safe. Its whole state (images and RNG) is saved in checkpoints.
#include <torch/torch.h>

#include <vector>

#include "common/rng.h"

namespace cg::model {

class ImagePool {
 public:
  /// capacity 0 disables the pool: query() returns its input.
  ImagePool(int64_t capacity, uint64_t seed);

  /// images: (N, C, H, W) detached fakes -> (N, C, H, W) the images to train D on.
  torch::Tensor query(const torch::Tensor& images);

  int64_t capacity() const { return capacity_; }
  int64_t size() const { return static_cast<int64_t>(images_.size()); }

  /// Stored images as (size, C, H, W) (an empty tensor when none) and the RNG state.
  torch::Tensor stored() const;
  uint64_t rng_state() const { return rng_.state(); }
  /// Restores what stored() and rng_state() returned. Throws c10::Error on a size above capacity.
  void restore(const torch::Tensor& stored, uint64_t rng_state);

 private:
  int64_t capacity_;
  SplitMix64 rng_;
  std::vector<torch::Tensor> images_;  // each (1, C, H, W)
};

}  // namespace cg::model
