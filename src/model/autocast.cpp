#include "model/autocast.h"

#include <ATen/autocast_mode.h>

namespace cg::model {

AutocastState AutocastState::current(c10::DeviceType device_type) {
  return {at::autocast::is_autocast_enabled(device_type),
          at::autocast::get_autocast_dtype(device_type), at::autocast::is_autocast_cache_enabled()};
}

AutocastGuard::AutocastGuard(c10::DeviceType device_type, AutocastState state)
    : device_type_(device_type) {
  TORCH_CHECK(at::autocast::is_autocast_available(device_type),
              "autocast does not support device type ", device_type);
  TORCH_CHECK(!state.enabled || state.dtype == c10::kBFloat16 || state.dtype == c10::kHalf,
              "autocast dtype must be bfloat16 or float16, got ", state.dtype);
  previous_ = AutocastState::current(device_type);
  at::autocast::set_autocast_enabled(device_type, state.enabled);
  at::autocast::set_autocast_dtype(device_type, state.dtype);
  at::autocast::increment_nesting();
  at::autocast::set_autocast_cache_enabled(state.cache_enabled);
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_.enabled);
  at::autocast::set_autocast_dtype(device_type_, previous_.dtype);
  at::autocast::set_autocast_cache_enabled(previous_.cache_enabled);
}

}  // namespace cg::model
