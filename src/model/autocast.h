#pragma once
// Mixed-precision forwards: LibTorch's autocast, scoped like Python's torch.autocast. Ops
// on the autocast allow-list (convolutions, matmuls) run in the low-precision dtype, the
// rest (norms, losses, reductions) in fp32; parameters stay fp32 and their low-precision
// copies live in autocast's cache until the outermost guard ends.
#include <torch/torch.h>

namespace cg::model {

/// The autocast settings of one device type in this thread.
struct AutocastState {
  bool enabled = false;                               ///< ops of this device type autocast
  c10::ScalarType dtype = c10::ScalarType::BFloat16;  ///< their low-precision dtype
  bool cache_enabled = true;                          ///< cache casts of leaf parameters

  /// This thread's current settings for `device_type`.
  static AutocastState current(c10::DeviceType device_type);
};

/// While alive, autocast for `device_type` is set to `state` in this thread. On
/// destruction the previous settings come back, and when this was the outermost guard (of
/// any device type) the autocast cache is cleared, as on leaving `torch.autocast(...)`.
/// Guards nest; one guard per scope and thread. Throws c10::Error when autocast does not
/// support `device_type`, or `state` enables a dtype other than bf16/fp16.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device_type, AutocastState state);
  /// Enables autocast for `device_type` with `dtype`.
  AutocastGuard(c10::DeviceType device_type, c10::ScalarType dtype)
      : AutocastGuard(device_type, AutocastState{true, dtype, true}) {}
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;
  AutocastGuard(AutocastGuard&&) = delete;
  AutocastGuard& operator=(AutocastGuard&&) = delete;

 private:
  c10::DeviceType device_type_;
  AutocastState previous_;
};

}  // namespace cg::model
