#pragma once
// Communicator over NCCL for CUDA tensors (built with CYCLEGAN_WITH_CUDA). Bootstrap:
// rank 0 creates the NCCL unique id, MPI broadcasts it, every rank joins with
// ncclCommInitRank on the GPU of its local rank. Collectives run on a stream of their
// own, ordered after the caller's current stream by an event and before the caller's
// later work by another event: no host synchronisation. A watchdog thread aborts the
// communicator and the job (MPI_Abort) on an asynchronous NCCL error or when a
// collective has not finished after `timeout_seconds`, so one failed rank never leaves
// the others hanging. Not copyable or movable.
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
  std::shared_ptr<Work> all_reduce_sum_async(torch::Tensor buffer) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void barrier() override;
  std::vector<int64_t> all_gather(int64_t value) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cg::parallel
