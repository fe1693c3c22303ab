#include "train/peak_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#ifdef CYCLEGAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "common/error.h"
#include "common/log.h"

namespace cg::train {
namespace {

// A field of /proc/self/status in bytes ("VmHWM:" -> its kB value * 1024), -1 if absent.
int64_t status_bytes(const char* field) {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return -1;
  char line[256];
  int64_t out = -1;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::strncmp(line, field, n) == 0) {
      out = std::strtoll(line + n, nullptr, 10) * 1024;
      break;
    }
  }
  std::fclose(status);
  return out;
}

// Returns "" on success, else why the kernel refused.
std::string clear_peak_resident_size() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return std::string("open /proc/self/clear_refs: ") + std::strerror(errno);
  const ssize_t written = ::write(fd, "5", 1);
  const int error = errno;
  ::close(fd);
  if (written != 1) return std::string("write 5 to /proc/self/clear_refs: ") + std::strerror(error);
  return "";
}

#ifdef CYCLEGAN_WITH_CUDA
constexpr auto kAllPools = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);

c10::CachingAllocator::Stat cuda_allocated(const torch::Device& device) {
  return c10::cuda::CUDACachingAllocator::getDeviceStats(device.index()).allocated_bytes[kAllPools];
}
#endif

}  // namespace

PeakMemory::PeakMemory(torch::Device device) : device_(device) {
  if (device_.is_cpu()) {
    CG_REQUIRE(status_bytes("VmHWM:") >= 0, FileError,
               "PeakMemory: no VmHWM in /proc/self/status (Linux only)");
    return;
  }
  TORCH_CHECK(device_.is_cuda(), "PeakMemory: cpu or cuda devices only, got ", device_);
#ifdef CYCLEGAN_WITH_CUDA
  if (!device_.has_index()) device_ = torch::Device(torch::kCUDA, c10::cuda::current_device());
#else
  TORCH_CHECK(false, "PeakMemory: ", device_, " needs a build with CYCLEGAN_WITH_CUDA=ON");
#endif
}

void PeakMemory::reset() {
#ifdef CYCLEGAN_WITH_CUDA
  if (device_.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device_.index());
    return;
  }
#endif
  const std::string refused = clear_peak_resident_size();
  resettable_ = refused.empty();
  // One warning per process: the trainer resets every step.
  static std::atomic<bool> warned{false};
  if (!resettable_ && !warned.exchange(true)) {
    log::warn("peak memory: cannot reset the peak resident size (", refused,
              "); peaks are reported since the process started");
  }
}

int64_t PeakMemory::peak_bytes() const {
#ifdef CYCLEGAN_WITH_CUDA
  if (device_.is_cuda()) return cuda_allocated(device_).peak;
#endif
  return status_bytes("VmHWM:");
}

int64_t PeakMemory::current_bytes() const {
#ifdef CYCLEGAN_WITH_CUDA
  if (device_.is_cuda()) return cuda_allocated(device_).current;
#endif
  return status_bytes("VmRSS:");
}

}  // namespace cg::train
