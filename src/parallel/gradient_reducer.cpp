#include "parallel/gradient_reducer.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>

#include "common/error.h"

namespace cg::parallel {
namespace {

// A tensor on `flat`'s storage at `offset` elements, shaped like `param`. Made with set_()
// rather than as a view, so that autograd does not treat it as one: Optimizer::zero_grad()
// detach_()es gradients, which autograd refuses for views.
torch::Tensor bucket_tensor(const torch::Tensor& flat, int64_t offset, const torch::Tensor& param) {
  std::vector<int64_t> strides(param.dim(), 1);
  for (int64_t d = param.dim() - 2; d >= 0; --d) strides[d] = strides[d + 1] * param.size(d + 1);
  torch::NoGradGuard no_grad;
  return torch::empty({0}, flat.options())
      .set_(flat.storage(), flat.storage_offset() + offset, param.sizes(), strides);
}

}  // namespace

// Runs after autograd has accumulated a parameter's gradient of this backward pass into
// its .grad() (the bucket view), once per pass however often the parameter was used.
class GradientReducer::AccumulatedHook : public torch::autograd::PostAccumulateGradHook {
 public:
  AccumulatedHook(GradientReducer* reducer, int64_t index) : reducer_(reducer), index_(index) {}
  void operator()(const torch::autograd::Variable& /*param*/) override {
    reducer_->on_accumulated(index_);
  }

 private:
  GradientReducer* reducer_;
  int64_t index_;
};

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, Communicator& comm,
                                 ReducerOptions options)
    : params_(std::move(params)), comm_(comm), options_(options) {
  TORCH_CHECK(!params_.empty(), "GradientReducer needs parameters");
  const auto tensor_options = params_[0].options().requires_grad(false);
  bucket_of_.resize(params_.size());
  std::vector<int64_t> offsets(params_.size());  // in elements, into the parameter's bucket
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
    bucket_of_[i] = static_cast<int64_t>(buckets_.size());
    offsets[i] = numel;
    members.push_back(i);
    numel += p.numel();
    if (numel * p.element_size() >= limit) close_bucket();
  }
  close_bucket();
  for (size_t i = 0; i < params_.size(); ++i) {
    grads_.push_back(bucket_tensor(buckets_[bucket_of_[i]].flat, offsets[i], params_[i]));
    auto hook = std::make_unique<AccumulatedHook>(this, static_cast<int64_t>(i));
    hooks_.push_back(hook.get());
    torch::autograd::impl::set_post_acc_grad_hooks(params_[i], std::move(hook));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (torch::autograd::impl::post_acc_grad_hooks(params_[i]).get() == hooks_[i]) {
      torch::autograd::impl::set_post_acc_grad_hooks(params_[i], nullptr);
    }
  }
}

void GradientReducer::prepare() {
  torch::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    bucket.flat.zero_();
    bucket.pending = static_cast<int64_t>(bucket.params.size());
    bucket.work.reset();
  }
  for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = grads_[i];
  std::fill(arrived_.begin(), arrived_.end(), false);
  next_launch_ = 0;
  armed_ = true;
}

void GradientReducer::on_accumulated(int64_t index) {
  if (!armed_) return;
  TORCH_INTERNAL_ASSERT(!arrived_[index], "GradientReducer: two gradients for one parameter");
  arrived_[index] = true;
  // Autograd adds into the view in place; should anything have replaced .grad() by
  // another tensor, its values go into the bucket here.
  torch::Tensor& grad = params_[index].mutable_grad();
  if (!grad.is_same(grads_[index])) {
    torch::NoGradGuard no_grad;
    grads_[index].copy_(grad);
    grad = grads_[index];
  }
  Bucket& bucket = buckets_[bucket_of_[index]];
  if (--bucket.pending == 0 && options_.overlap) launch_ready();
}

void GradientReducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& bucket = buckets_[next_launch_++];
    bucket.work = comm_.all_reduce_sum_async(bucket.flat);
  }
}

void GradientReducer::finish() {
  TORCH_CHECK(armed_, "GradientReducer::finish without prepare");
  torch::NoGradGuard no_grad;
  // Parameters that received no gradient in this pass: their zero views are reduced all
  // the same (the graph is the same on every rank), and they keep no gradient.
  for (size_t i = 0; i < params_.size(); ++i) {
    if (arrived_[i]) continue;
    --buckets_[bucket_of_[i]].pending;
  }
  launch_ready();
  TORCH_INTERNAL_ASSERT(next_launch_ == buckets_.size(),
                        "GradientReducer: a bucket was not launched");
  auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) bucket.work->wait();
  last_wait_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double scale = 1.0 / comm_.size();
  for (auto& bucket : buckets_) bucket.flat.mul_(scale);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!arrived_[i]) params_[i].mutable_grad() = torch::Tensor();
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

}  // namespace cg::parallel
