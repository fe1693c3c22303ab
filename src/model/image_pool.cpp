#include "model/image_pool.h"

namespace cg::model {

ImagePool::ImagePool(int64_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed) {
  TORCH_CHECK(capacity >= 0, "ImagePool capacity must be >= 0, got ", capacity);
}

torch::Tensor ImagePool::query(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4, "ImagePool expects NCHW, got ", images.sizes());
  if (capacity_ == 0) return images;
  std::vector<torch::Tensor> out;
  out.reserve(images.size(0));
  for (int64_t i = 0; i < images.size(0); ++i) {
    torch::Tensor image = images.narrow(0, i, 1).detach().clone();
    if (size() < capacity_) {
      images_.push_back(image);
      out.push_back(image);
    } else if (rng_.uniform() > 0.5) {
      auto slot = static_cast<size_t>(rng_.below(static_cast<uint64_t>(capacity_)));
      out.push_back(images_[slot]);
      images_[slot] = image;
    } else {
      out.push_back(image);
    }
  }
  return torch::cat(out, 0);
}

torch::Tensor ImagePool::stored() const {
  if (images_.empty()) return torch::Tensor();
  return torch::cat(images_, 0);
}

void ImagePool::restore(const torch::Tensor& stored, uint64_t rng_state) {
  images_.clear();
  if (stored.defined() && stored.numel() > 0) {
    TORCH_CHECK(stored.dim() == 4 && stored.size(0) <= capacity_, "ImagePool: cannot restore ",
                stored.sizes(), " into a pool of capacity ", capacity_);
    for (int64_t i = 0; i < stored.size(0); ++i) images_.push_back(stored.narrow(0, i, 1).clone());
  }
  rng_.set_state(rng_state);
}

}  // namespace cg::model
