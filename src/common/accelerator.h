#pragma once
// What this build and machine offer for GPU training: the CUDA runtime and NCCL versions
// compiled in (CYCLEGAN_WITH_CUDA) and the visible devices.
#include <cstdint>
#include <string>

namespace cg {

/// One line for the log, e.g. "CUDA runtime 13000, NCCL 2.27.7, 1 device(s): NVIDIA H200
/// (139 GiB)" or "built without CUDA/NCCL".
std::string accelerator_summary();

/// Number of CUDA devices visible to this process (0 when none or built without CUDA).
int cuda_device_count();

/// Memory the LibTorch caching allocator holds for this process on one CUDA device.
struct CudaMemory {
  int64_t allocated_bytes = 0;  ///< held by live tensors
  int64_t reserved_bytes = 0;   ///< held by the allocator (allocated plus cached)
};

/// The current figures for CUDA device `index`; zeros when built without CUDA.
/// Cheap (a copy of the allocator's counters): fine to call every step.
CudaMemory cuda_memory(int index);

}  // namespace cg
