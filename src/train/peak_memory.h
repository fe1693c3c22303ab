#pragma once
// The peak memory of a stretch of work (a training step) on the run's device, for the
// metrics (StepRecord::peak_memory_bytes) and bench/memory_bench.
//
//   CPU   the process' peak resident size, VmHWM of /proc/self/status. reset() writes "5"
//         to /proc/self/clear_refs (Linux >= 4.0), which sets the high-water mark to the
//         current resident size. Where the kernel refuses that (older kernels, some
//         sandboxes), one warning is logged per process and the peaks are those since
//         the process started. The figure is of the whole process: every thread, the
//         libraries, the model and optimizer state, memory malloc keeps after a free.
//   CUDA  the caching allocator's peak of bytes held by tensors on the device
//         (allocated_bytes, all pools), reset by resetPeakStats. Memory the allocator
//         keeps cached but no tensor holds is not counted (see common/accelerator.h for
//         the reserved bytes). Needs a build with CYCLEGAN_WITH_CUDA.
//
// Both counters are process-wide (per device on CUDA): a reset also resets them for any
// other PeakMemory of the same device and for whoever else reads them.
#include <torch/torch.h>

#include <cstdint>

namespace cg::train {

/// Not thread-safe; cheap enough (a short /proc read, or a copy of the allocator's
/// counters) to call once per step.
class PeakMemory {
 public:
  /// `device`: kCPU or kCUDA ("cuda" without an index: the current CUDA device). Throws
  /// c10::Error for other device types, and for CUDA in a build without CUDA.
  explicit PeakMemory(torch::Device device);

  /// Starts a new measurement: the peak becomes the current size.
  void reset();
  /// The largest size since the last reset() (since the process started on CPU, or on
  /// CUDA since the allocator's first use, before any reset()).
  int64_t peak_bytes() const;
  /// The size now (CPU: VmRSS; CUDA: bytes allocated to tensors).
  int64_t current_bytes() const;
  /// False when the peak cannot be reset here (CPU without a writable
  /// /proc/self/clear_refs): peak_bytes() is then the peak since the process started.
  bool resettable() const { return resettable_; }
  const torch::Device& device() const { return device_; }

 private:
  torch::Device device_;
  bool resettable_ = true;
};

}  // namespace cg::train
