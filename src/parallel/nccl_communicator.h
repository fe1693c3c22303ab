#pragma once
// Communicator over NCCL for CUDA tensors (built with CYCLEGAN_WITH_CUDA). Bootstrap:
// rank 0 creates the NCCL unique id, MPI broadcasts it, every rank joins with
// ncclCommInitRank on the GPU of its local rank. Collectives run on a stream of their
// own, ordered after the caller's current stream by an event and before the caller's
// later work by another event: no host synchronisation. A watchdog thread aborts the
// communicator and the job (MPI_Abort) on an asynchronous NCCL error or when a
// collective has not finished after `timeout_seconds`, so one failed rank never leaves
// the others hanging. Teardown: after a normal end the destructor destroys the
// communicator (ncclCommDestroy, which waits for the peers); on a failure it aborts it
// (ncclCommAbort, which does not: a failed peer would keep a destroy waiting forever), when
// the owner calls abort() or the destructor runs while an exception unwinds the stack.
// Not copyable or movable.
#include <memory>

#include "parallel/communicator.h"
#include "parallel/mpi_communicator.h"

namespace cg::parallel {

class NcclCommunicator : public Communicator {
 public:
  /// bootstrap: carries the unique id (and serves barrier()); device: this rank's GPU.
  NcclCommunicator(MpiCommunicator& bootstrap, int device, double timeout_seconds = 600);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override;
  int size() const override;
  const char* backend() const override { return "nccl"; }
  torch::Device device() const override;  ///< the GPU given to the constructor
  std::shared_ptr<Work> all_reduce_sum_async(torch::Tensor buffer) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void barrier() override;
  std::vector<int64_t> all_gather(int64_t value) override;

  /// Ends this rank's part of the communicator at once, without waiting for the other
  /// ranks (ncclCommAbort): for a rank that has failed. Collectives still in flight are
  /// dropped, and all_reduce_sum_async and broadcast throw cg::Error afterwards. Stops the
  /// watchdog first. Idempotent; never throws. Not concurrently with a collective call.
  void abort() noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cg::parallel
