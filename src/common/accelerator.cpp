#include "common/accelerator.h"

#include <sstream>

#ifdef CYCLEGAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace cg {

#ifdef CYCLEGAN_WITH_CUDA

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

std::string accelerator_summary() {
  std::ostringstream out;
  int runtime = 0, nccl = 0;
  cudaRuntimeGetVersion(&runtime);
  ncclGetVersion(&nccl);
  out << "CUDA runtime " << runtime << ", NCCL " << nccl / 10000 << "." << nccl / 100 % 100 << "."
      << nccl % 100;
  const int count = cuda_device_count();
  out << ", " << count << " device(s)";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) {
      out << (i == 0 ? ": " : ", ") << prop.name << " (" << (prop.totalGlobalMem >> 30) << " GiB)";
    }
  }
  return out.str();
}

CudaMemory cuda_memory(int index) {
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  constexpr auto kAll = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  return {stats.allocated_bytes[kAll].current, stats.reserved_bytes[kAll].current};
}

#else

int cuda_device_count() { return 0; }

CudaMemory cuda_memory(int) { return {}; }

std::string accelerator_summary() { return "built without CUDA/NCCL (CYCLEGAN_WITH_CUDA=OFF)"; }

#endif

}  // namespace cg
