#include "parallel/mpi_communicator.h"

#include <climits>

#include "parallel/mpi_check.h"

namespace cg::parallel {
namespace {

MPI_Datatype mpi_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kByte:
      return MPI_UINT8_T;
    default:
      TORCH_CHECK(false, "MpiCommunicator: unsupported dtype ", t.scalar_type());
  }
}

void check_cpu_contiguous(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous(), "MpiCommunicator::", what,
              " needs a contiguous CPU tensor, got ", t.device(),
              t.is_contiguous() ? "" : " (strided)");
}

class FutureWork : public Work {
 public:
  explicit FutureWork(std::shared_future<void> done) : done_(std::move(done)) {}
  void wait() override { done_.get(); }

 private:
  std::shared_future<void> done_;
};

// MPI counts are int: large buffers go in pieces of at most INT_MAX elements.
template <typename Fn>
void in_chunks(const torch::Tensor& t, Fn fn) {
  const int64_t n = t.numel();
  const int64_t item = t.element_size();
  auto* base = static_cast<char*>(t.data_ptr());
  for (int64_t offset = 0; offset < n; offset += INT_MAX) {
    fn(base + offset * item, static_cast<int>(std::min<int64_t>(INT_MAX, n - offset)));
  }
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) {
  CG_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  CG_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  CG_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  CG_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  thread_ = std::thread([this] { run(); });
}

MpiCommunicator::~MpiCommunicator() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  thread_.join();
  MPI_Comm_free(&comm_);
}

std::shared_future<void> MpiCommunicator::submit(std::function<void()> task) {
  std::packaged_task<void()> packaged(std::move(task));
  std::shared_future<void> done = packaged.get_future().share();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(packaged));
  }
  ready_.notify_one();
  return done;
}

void MpiCommunicator::run() {
  for (;;) {
    std::packaged_task<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();  // exceptions land in the task's future
  }
}

std::shared_ptr<Work> MpiCommunicator::all_reduce_sum_async(torch::Tensor buffer) {
  check_cpu_contiguous(buffer, "all_reduce_sum_async");
  return std::make_shared<FutureWork>(submit([this, buffer] {
    in_chunks(buffer, [&](void* data, int count) {
      CG_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data, count, mpi_type(buffer), MPI_SUM, comm_));
    });
  }));
}

void MpiCommunicator::broadcast(torch::Tensor& tensor, int root) {
  check_cpu_contiguous(tensor, "broadcast");
  torch::Tensor t = tensor;
  submit([this, t, root] {
    in_chunks(t, [&](void* data, int count) {
      CG_MPI_CHECK(MPI_Bcast(data, count, mpi_type(t), root, comm_));
    });
  }).get();
}

void MpiCommunicator::barrier() {
  submit([this] { CG_MPI_CHECK(MPI_Barrier(comm_)); }).get();
}

std::vector<int64_t> MpiCommunicator::all_gather(int64_t value) {
  std::vector<int64_t> values(static_cast<size_t>(size_));
  submit([&] {
    CG_MPI_CHECK(MPI_Allgather(&value, 1, MPI_INT64_T, values.data(), 1, MPI_INT64_T, comm_));
  }).get();
  return values;
}

}  // namespace cg::parallel
