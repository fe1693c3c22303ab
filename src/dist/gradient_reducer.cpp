#include "dist/gradient_reducer.h"

#include <chrono>

#include "common/error.h"

namespace cg::dist {

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, Communicator& comm,
                                 ReducerOptions options)
    : params_(std::move(params)), comm_(comm), options_(options) {
  TORCH_CHECK(!params_.empty(), "GradientReducer needs parameters");
  const auto tensor_options = params_[0].options().requires_grad(false);
  slots_.resize(params_.size());
  arrived_.assign(params_.size(), false);
  int64_t limit = options_.first_bucket_bytes;
  std::vector<int64_t> members;
  int64_t numel = 0;
  auto close_bucket = [&] {
    if (members.empty()) return;
    Bucket bucket;
    bucket.flat = torch::zeros({numel}, tensor_options);
    bucket.params = members;
    buckets_.push_back(std::move(bucket));
    members.clear();
    numel = 0;
    limit = options_.bucket_bytes;
  };
  for (int64_t i = static_cast<int64_t>(params_.size()) - 1; i >= 0; --i) {
    const torch::Tensor& p = params_[i];
    TORCH_CHECK(p.scalar_type() == params_[0].scalar_type() && p.device() == params_[0].device(),
                "GradientReducer: all parameters must share dtype and device");
    slots_[i] = {static_cast<int64_t>(buckets_.size()), numel, p.numel()};
    members.push_back(i);
    numel += p.numel();
    if (numel * p.element_size() >= limit) close_bucket();
  }
  close_bucket();
  if (options_.overlap) {
    for (size_t i = 0; i < params_.size(); ++i) {
      params_[i].register_hook([this, i](const torch::Tensor& grad) {
        on_gradient(static_cast<int64_t>(i), grad);
        return torch::Tensor();  // the gradient itself is left as it is
      });
    }
  }
}

void GradientReducer::prepare() {
  for (auto& bucket : buckets_) {
    bucket.pending = static_cast<int64_t>(bucket.params.size());
    bucket.work.reset();
  }
  std::fill(arrived_.begin(), arrived_.end(), false);
  next_launch_ = 0;
  armed_ = true;
}

void GradientReducer::on_gradient(int64_t index, const torch::Tensor& grad) {
  if (!armed_) return;
  const Slot& slot = slots_[index];
  Bucket& bucket = buckets_[slot.bucket];
  TORCH_INTERNAL_ASSERT(!arrived_[index], "GradientReducer: two gradients for one parameter");
  torch::NoGradGuard no_grad;
  bucket.flat.narrow(0, slot.offset, slot.numel).copy_(grad.reshape(-1));
  arrived_[index] = true;
  if (--bucket.pending == 0) launch_ready();
}

void GradientReducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_launch_++];
    bucket.work = comm_.all_reduce_sum_async(bucket.flat);
  }
}

void GradientReducer::finish() {
  TORCH_CHECK(armed_ || !options_.overlap, "GradientReducer::finish without prepare");
  torch::NoGradGuard no_grad;
  if (!options_.overlap) prepare();
  // Gradients the hooks did not see (overlap off, or parameters unused in this pass).
  for (size_t i = 0; i < params_.size(); ++i) {
    if (arrived_[i]) continue;
    const Slot& slot = slots_[i];
    torch::Tensor dst = buckets_[slot.bucket].flat.narrow(0, slot.offset, slot.numel);
    const torch::Tensor& grad = params_[i].grad();
    if (grad.defined()) {
      dst.copy_(grad.reshape(-1));
      arrived_[i] = true;
    } else {
      dst.zero_();
    }
    --buckets_[slot.bucket].pending;
  }
  launch_ready();
  TORCH_INTERNAL_ASSERT(next_launch_ == buckets_.size(), "GradientReducer: a bucket was not launched");
  const double scale = 1.0 / comm_.size();
  auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) bucket.work->wait();
  last_wait_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Scaling by 1/N while copying back: one pass over the gradients instead of two.
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!arrived_[i]) continue;
    const Slot& slot = slots_[i];
    torch::Tensor sum = buckets_[slot.bucket].flat.narrow(0, slot.offset, slot.numel).view_as(params_[i]);
    if (params_[i].grad().defined()) {
      torch::mul_out(params_[i].mutable_grad(), sum, torch::scalar_tensor(scale, sum.options()));
    } else {
      params_[i].mutable_grad() = sum * scale;
    }
  }
  armed_ = false;
}

std::vector<int64_t> GradientReducer::bucket_sizes() const {
  std::vector<int64_t> sizes;
  for (const auto& b : buckets_) sizes.push_back(b.flat.numel() * b.flat.element_size());
  return sizes;
}

int64_t GradientReducer::total_bytes() const {
  int64_t total = 0;
  for (int64_t s : bucket_sizes()) total += s;
  return total;
}

}  // namespace cg::dist
