#pragma once
// Averages the gradients of one optimizer's parameters across ranks, as DDP does:
// parameters are packed, in reverse order (the order backward produces their gradients),
// into flat buckets of about `bucket_bytes` (the first one smaller so communication
// starts early). Each parameter's .grad() is a view into its bucket (DDP's
// gradient_as_bucket_view), so autograd accumulates straight into the buckets and nothing
// is copied in or out. With overlap on, a hook after each gradient's accumulation launches
// every bucket that is complete while backward goes on; buckets are launched strictly in
// index order, so every rank issues the same collectives in the same order. finish()
// waits for all buckets and scales them to the mean in place.
//
// Use: [optimizer.zero_grad();] prepare(); loss.backward(); finish(); optimizer.step().
// prepare() zeroes the buckets and (re)attaches the views, so a zero_grad() that sets
// gradients to none is fine. Not thread-safe. The hooks stay registered for the reducer's
// lifetime and are removed by its destructor; a parameter has one such hook, so two live
// reducers must not share parameters.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "parallel/communicator.h"

namespace cg::parallel {

struct ReducerOptions {
  int64_t bucket_bytes = 25 << 20;       ///< target bucket size (DDP's default 25 MiB)
  int64_t first_bucket_bytes = 1 << 20;  ///< the first bucket, small to start early
  bool overlap = true;                   ///< reduce buckets during backward (hooks)
};

class GradientReducer {
 public:
  /// params: the parameters of one optimizer, in their registration order; all of one
  /// dtype and device.
  GradientReducer(std::vector<torch::Tensor> params, Communicator& comm,
                  ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Arms the hooks for the next backward pass.
  void prepare();
  /// Reduces what the hooks did not launch (all of it with overlap off), waits for every
  /// bucket, and sets each parameter's .grad() to the mean over ranks. Parameters that
  /// received no gradient keep none (the graph is the same on every rank).
  void finish();

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  /// Sizes in bytes of the buckets, in launch order.
  std::vector<int64_t> bucket_sizes() const;
  /// Bytes reduced per finish() call.
  int64_t total_bytes() const;
  /// Seconds finish() spent waiting for communication in its last call (exposed
  /// communication: what overlap did not hide).
  double last_wait_seconds() const { return last_wait_seconds_; }

 private:
  struct Bucket {
    torch::Tensor flat;
    std::vector<int64_t> params;  // indices into params_
    int64_t pending = 0;          // gradients still to arrive in this backward pass
    std::shared_ptr<Work> work;
  };
  class AccumulatedHook;
  void on_accumulated(int64_t index);
  void launch_ready();

  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> grads_;           // each parameter's gradient, in its bucket
  std::vector<const AccumulatedHook*> hooks_;  // ours, to remove only those
  std::vector<int64_t> bucket_of_;             // each parameter's bucket
  std::vector<bool> arrived_;
  std::vector<Bucket> buckets_;
  Communicator& comm_;
  ReducerOptions options_;
  bool armed_ = false;
  size_t next_launch_ = 0;
  double last_wait_seconds_ = 0;
};

}  // namespace cg::parallel
