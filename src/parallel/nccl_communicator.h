#pragma once
// Communicator over NCCL for CUDA tensors (built with CYCLEGAN_WITH_CUDA). Bootstrap:
// rank 0 creates the NCCL unique id, MPI broadcasts it, every rank joins with
// ncclCommInitRank on its GPU (backend.h: cuda_index_for_rank).
//
// Streams and events (the overlapped all-reduce of gradient_reducer.h):
//   - all_reduce_sum_async records an event on the caller's current stream (in a gradient
//     hook: the stream autograd runs that gradient's backward on), makes the
//     communicator's own stream wait for it, and enqueues ncclAllReduce there: the reduce
//     starts after the kernels that wrote the buffer, and backward goes on meanwhile.
//   - The buffer's storage is recorded on the communicator's stream (recordStream), so the
//     caching allocator does not hand its memory out again before the reduce is done, even
//     if the caller drops the tensor.
//   - Work::wait() makes the caller's current stream wait for an event recorded after the
//     reduce: whatever the caller enqueues next (the copy back into the gradients, the
//     optimizer step) runs after it. The host never blocks; a host read of the result (e.g.
//     .item()) synchronises through the stream as usual.
//   - broadcast runs on the caller's current stream and synchronises it (start-up and
//     resume only).
//
// Failures end in one line and MPI_Abort, as MPI's do: an NCCL call that returns an error
// throws cg::Error naming the call and NCCL's text (the job aborts the communicator, logs
// the line and calls MPI_Abort); a watchdog thread logs one line and calls MPI_Abort on an
// asynchronous NCCL error or a collective that has not finished after `timeout_seconds`,
// so one failed rank never leaves the others hanging. Teardown: after a normal end the
// destructor destroys the communicator (ncclCommDestroy, which waits for the peers); on a
// failure it aborts it (ncclCommAbort, which does not: a failed peer would keep a destroy
// waiting forever), when the owner calls abort() or the destructor runs while an exception
// unwinds the stack. Not copyable or movable.
#include <memory>

#include "parallel/communicator.h"
#include "parallel/mpi_communicator.h"

namespace cg::parallel {

class NcclCommunicator : public Communicator {
 public:
  /// bootstrap: carries the unique id (and serves barrier()); device: this rank's GPU.
  NcclCommunicator(MpiCommunicator& bootstrap, int device, double timeout_seconds = 600);
  /// The same, owning its bootstrap communicator.
  NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap, int device,
                   double timeout_seconds = 600);
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
  void abort() noexcept override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cg::parallel
