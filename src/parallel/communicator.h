#pragma once
// The collective operations the trainer needs, behind one small interface with a CPU
// backend (MPI) and a GPU backend (NCCL). Every rank must issue the same calls in the
// same order with tensors of the same shape and dtype.
#include <torch/torch.h>

#include <memory>

namespace cg::parallel {

/// Handle of a collective in flight.
class Work {
 public:
  virtual ~Work() = default;
  /// Returns once the result may be used by the caller's next operation. CPU: the data is
  /// there. CUDA: the current stream is ordered after the collective (no host sync).
  /// Rethrows the collective's error.
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// "mpi" or "nccl" (backend.h's backend_name of its Backend), for logs and labels.
  virtual const char* backend() const = 0;
  /// Where the tensors it sums and broadcasts must live: the CPU (MPI) or this rank's GPU
  /// (NCCL). Callers move tensors there by asking, not by comparing backend names.
  virtual torch::Device device() const = 0;

  /// Starts summing the contiguous `buffer` across ranks, in place.
  virtual std::shared_ptr<Work> all_reduce_sum_async(torch::Tensor buffer) = 0;
  /// Copies `tensor` of rank `root` into `tensor` of every rank, in place; blocking.
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
  /// The value `value` of every rank, by rank.
  virtual std::vector<int64_t> all_gather(int64_t value) = 0;

  /// Ends this rank's part at once, without waiting for the other ranks, for a rank that
  /// has failed (one of them may be dead). NCCL aborts its communicator; MPI has nothing to
  /// end short of MPI_Abort, which the caller does. Never throws.
  virtual void abort() noexcept {}

  /// Blocking sum; `buffer` must be contiguous.
  void all_reduce_sum(torch::Tensor& buffer) { all_reduce_sum_async(buffer)->wait(); }
};

}  // namespace cg::parallel
