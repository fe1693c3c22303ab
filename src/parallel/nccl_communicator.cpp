#include "parallel/nccl_communicator.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "parallel/mpi_environment.h"

#define CG_NCCL_CHECK(call)                                                                    \
  do {                                                                                         \
    ncclResult_t cg_nccl_rc_ = (call);                                                         \
    if (cg_nccl_rc_ != ncclSuccess)                                                            \
      throw ::cg::Error(::cg::detail::str_cat("NCCL error at ", __FILE__, ":", __LINE__, ": ", \
                                              #call, ": ", ncclGetErrorString(cg_nccl_rc_)));  \
  } while (0)

namespace cg::parallel {
namespace {

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kLong:
      return ncclInt64;
    case torch::kInt:
      return ncclInt32;
    case torch::kByte:
      return ncclUint8;
    default:
      TORCH_CHECK(false, "NcclCommunicator: unsupported dtype ", t.scalar_type());
  }
}

using Clock = std::chrono::steady_clock;

}  // namespace

struct NcclCommunicator::State {
  std::unique_ptr<MpiCommunicator> owned_bootstrap;  // when constructed owning it
  MpiCommunicator& bootstrap;
  int device;
  double timeout_seconds;
  ncclComm_t comm = nullptr;
  c10::cuda::CUDAStream stream;
  std::mutex mutex;
  std::deque<std::pair<std::shared_ptr<at::cuda::CUDAEvent>, Clock::time_point>> in_flight;
  std::atomic<bool> stopping{false};
  std::thread watchdog;
  // Exceptions in flight when this communicator was made: more at destruction means the
  // destructor runs during stack unwinding (a failure).
  int uncaught_at_start = std::uncaught_exceptions();

  State(MpiCommunicator& b, int d, double t)
      : bootstrap(b),
        device(d),
        timeout_seconds(t),
        stream(c10::cuda::getStreamFromPool(true, d)) {}

  void stop_watchdog() {
    stopping = true;
    if (watchdog.joinable()) watchdog.join();
  }

  // The communicator for `op`; throws once it has been aborted.
  ncclComm_t live(const char* op) const {
    CG_REQUIRE(comm != nullptr, Error, "NcclCommunicator::", op,
               ": the communicator was aborted after a failure");
    return comm;
  }

  // Polls NCCL's asynchronous error and the age of the oldest unfinished collective.
  void watch() {
    while (!stopping.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ncclResult_t async_error = ncclSuccess;
      ncclCommGetAsyncError(comm, &async_error);
      std::string problem;
      if (async_error != ncclSuccess && async_error != ncclInProgress) {
        problem = std::string("NCCL asynchronous error: ") + ncclGetErrorString(async_error);
      } else {
        std::lock_guard<std::mutex> lock(mutex);
        while (!in_flight.empty() && in_flight.front().first->query()) in_flight.pop_front();
        if (!in_flight.empty()) {
          double age =
              std::chrono::duration<double>(Clock::now() - in_flight.front().second).count();
          if (age > timeout_seconds) {
            problem = detail::str_cat("an NCCL collective has not finished after ", age,
                                      " s (a rank died or hangs)");
          }
        }
      }
      if (!problem.empty()) {
        log::error(problem, "; aborting the job");
        ncclCommAbort(comm);
        MpiEnvironment::abort(1);  // the exit code of any other failure
      }
    }
  }
};

NcclCommunicator::NcclCommunicator(MpiCommunicator& bootstrap, int device, double timeout_seconds)
    : state_(std::make_unique<State>(bootstrap, device, timeout_seconds)) {
  c10::cuda::CUDAGuard guard(device);
  ncclUniqueId id;
  if (bootstrap.rank() == 0) CG_NCCL_CHECK(ncclGetUniqueId(&id));
  torch::Tensor bytes = torch::empty({static_cast<int64_t>(sizeof(id))}, torch::kByte);
  std::memcpy(bytes.data_ptr(), &id, sizeof(id));
  bootstrap.broadcast(bytes, 0);
  std::memcpy(&id, bytes.data_ptr(), sizeof(id));
  CG_NCCL_CHECK(ncclCommInitRank(&state_->comm, bootstrap.size(), id, bootstrap.rank()));
  state_->watchdog = std::thread([s = state_.get()] { s->watch(); });
}

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap, int device,
                                   double timeout_seconds)
    : NcclCommunicator(*bootstrap, device, timeout_seconds) {
  state_->owned_bootstrap = std::move(bootstrap);
}

torch::Device NcclCommunicator::device() const {
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(state_->device)};
}

NcclCommunicator::~NcclCommunicator() {
  if (std::uncaught_exceptions() > state_->uncaught_at_start) {
    abort();
    return;
  }
  state_->stop_watchdog();
  if (state_->comm != nullptr) ncclCommDestroy(state_->comm);
}

void NcclCommunicator::abort() noexcept {
  state_->stop_watchdog();
  if (state_->comm == nullptr) return;
  ncclCommAbort(state_->comm);
  state_->comm = nullptr;
}

int NcclCommunicator::rank() const { return state_->bootstrap.rank(); }
int NcclCommunicator::size() const { return state_->bootstrap.size(); }

namespace {

class EventWork : public Work {
 public:
  explicit EventWork(std::shared_ptr<at::cuda::CUDAEvent> done) : done_(std::move(done)) {}
  // Orders the caller's current stream after the collective; the host does not wait.
  void wait() override { done_->block(at::cuda::getCurrentCUDAStream()); }

 private:
  std::shared_ptr<at::cuda::CUDAEvent> done_;
};

}  // namespace

std::shared_ptr<Work> NcclCommunicator::all_reduce_sum_async(torch::Tensor buffer) {
  TORCH_CHECK(buffer.is_cuda() && buffer.is_contiguous(),
              "NcclCommunicator needs contiguous CUDA tensors");
  ncclComm_t comm = state_->live("all_reduce_sum_async");
  c10::cuda::CUDAGuard guard(state_->device);
  at::cuda::CUDAEvent ready;
  ready.record(at::cuda::getCurrentCUDAStream());
  ready.block(state_->stream);
  // The buffer's memory must not be reused by the caching allocator before we are done.
  c10::cuda::CUDACachingAllocator::recordStream(buffer.storage().data_ptr(), state_->stream);
  CG_NCCL_CHECK(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), buffer.numel(),
                              nccl_type(buffer), ncclSum, comm, state_->stream.stream()));
  auto done = std::make_shared<at::cuda::CUDAEvent>();
  done->record(state_->stream);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->in_flight.emplace_back(done, Clock::now());
  }
  return std::make_shared<EventWork>(done);
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  TORCH_CHECK(tensor.is_cuda() && tensor.is_contiguous(),
              "NcclCommunicator needs contiguous CUDA tensors");
  ncclComm_t comm = state_->live("broadcast");
  c10::cuda::CUDAGuard guard(state_->device);
  auto stream = at::cuda::getCurrentCUDAStream();
  CG_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                              nccl_type(tensor), root, comm, stream.stream()));
  stream.synchronize();
}

void NcclCommunicator::barrier() { state_->bootstrap.barrier(); }

std::vector<int64_t> NcclCommunicator::all_gather(int64_t value) {
  return state_->bootstrap.all_gather(value);
}

}  // namespace cg::parallel
