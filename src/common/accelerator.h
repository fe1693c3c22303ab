#pragma once
// What this build and machine offer for GPU training: the CUDA runtime and NCCL versions
// compiled in (CYCLEGAN_WITH_CUDA) and the visible devices.
#include <string>

namespace cg {

/// One line for the log, e.g. "CUDA runtime 13000, NCCL 2.27.7, 1 device(s): NVIDIA H200
/// (139 GiB)" or "built without CUDA/NCCL".
std::string accelerator_summary();

/// Number of CUDA devices visible to this process (0 when none or built without CUDA).
int cuda_device_count();

}  // namespace cg
