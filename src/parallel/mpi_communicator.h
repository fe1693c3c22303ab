#pragma once
// Communicator over MPI for CPU tensors. Collectives run one at a time, in submission
// order, on one communication thread, so the caller's thread keeps computing while a
// gradient bucket is being reduced (MPI_THREAD_SERIALIZED is enough: only that thread
// calls MPI once this object exists). Not copyable or movable.
#include <mpi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "parallel/communicator.h"

namespace cg::parallel {

class MpiCommunicator : public Communicator {
 public:
  /// Duplicates `comm` (so our traffic never mixes with others') and starts the thread.
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "mpi"; }
  torch::Device device() const override { return torch::kCPU; }
  std::shared_ptr<Work> all_reduce_sum_async(torch::Tensor buffer) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void barrier() override;
  std::vector<int64_t> all_gather(int64_t value) override;

 private:
  std::shared_future<void> submit(std::function<void()> task);
  void run();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cg::parallel
