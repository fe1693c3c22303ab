#include "model/activation_checkpoint.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>

#include <mutex>
#include <optional>

#include "model/autocast.h"
#include "model/winograd_conv.h"

namespace cg::model {
namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

torch::Tensor rng_state(at::Generator& generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_rng_state(at::Generator& generator, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// What the recomputation needs to see the world as the forward saw it.
struct ForwardRecord : torch::CustomClassHolder {
  CheckpointedBlock block;
  c10::DeviceType device_type = c10::kCPU;
  AutocastState autocast_cpu;
  std::optional<AutocastState> autocast_device;  // x's device type when it is not the CPU
  at::Generator cpu_generator;
  torch::Tensor cpu_rng;
  std::optional<at::Generator> device_generator;  // x's device's when it is a CUDA device
  torch::Tensor device_rng;
};

// torch.random.fork_rng: the generators run from the forward's states and afterwards
// continue where they were, so the recomputation neither sees nor leaves different draws.
class ForwardRng {
 public:
  explicit ForwardRng(ForwardRecord& record) : record_(record) {
    now_cpu_ = rng_state(record_.cpu_generator);
    set_rng_state(record_.cpu_generator, record_.cpu_rng);
    if (record_.device_generator) {
      now_device_ = rng_state(*record_.device_generator);
      set_rng_state(*record_.device_generator, record_.device_rng);
    }
  }
  ~ForwardRng() {
    set_rng_state(record_.cpu_generator, now_cpu_);
    if (record_.device_generator) set_rng_state(*record_.device_generator, now_device_);
  }
  ForwardRng(const ForwardRng&) = delete;
  ForwardRng& operator=(const ForwardRng&) = delete;

 private:
  ForwardRecord& record_;
  torch::Tensor now_cpu_, now_device_;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  // Runs under no-grad (Function::apply's doing): nothing inside the block is recorded.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, at::TensorList params,
                               const c10::intrusive_ptr<ForwardRecord>& record) {
    variable_list saved{x};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["record"] = c10::IValue::make_capsule(record);
    // The backward pass recomputes this block with gradients, so with torch's convolutions.
    const DirectConvolutions direct;
    return record->block(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto record =
        c10::static_intrusive_pointer_cast<ForwardRecord>(ctx->saved_data["record"].toCapsule());
    variable_list saved = ctx->get_saved_variables();
    const bool x_needs_grad = saved[0].requires_grad();
    torch::Tensor x = saved[0].detach().requires_grad_(x_needs_grad);
    torch::Tensor y;
    {
      ForwardRng rng(*record);
      std::optional<AutocastGuard> device_autocast;
      if (record->autocast_device)
        device_autocast.emplace(record->device_type, *record->autocast_device);
      AutocastGuard cpu_autocast(c10::kCPU, record->autocast_cpu);
      torch::AutoGradMode grad_mode(true);
      y = record->block(x);
    }
    variable_list inputs;
    if (x_needs_grad) inputs.push_back(x);
    inputs.insert(inputs.end(), saved.begin() + 1, saved.end());
    variable_list grads =
        torch::autograd::grad({y}, inputs, {grad_outputs[0]}, /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
    variable_list result;
    result.reserve(saved.size() + 1);
    result.push_back(x_needs_grad ? grads[0] : torch::Tensor());
    result.insert(result.end(), grads.begin() + (x_needs_grad ? 1 : 0), grads.end());
    result.emplace_back();  // the record
    return result;
  }
};

}  // namespace

torch::Tensor checkpoint(const CheckpointedBlock& block, const torch::Tensor& x,
                         const std::vector<torch::Tensor>& params) {
  TORCH_CHECK(block, "checkpoint: empty block");
  variable_list trainable;
  for (const auto& p : params) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  if (!torch::GradMode::is_enabled() || (!x.requires_grad() && trainable.empty())) return block(x);

  auto record = c10::make_intrusive<ForwardRecord>();
  record->block = block;
  record->device_type = x.device().type();
  record->autocast_cpu = AutocastState::current(c10::kCPU);
  if (record->device_type != c10::kCPU &&
      at::autocast::is_autocast_available(record->device_type)) {
    record->autocast_device = AutocastState::current(record->device_type);
  }
  record->cpu_generator = at::detail::getDefaultCPUGenerator();
  record->cpu_rng = rng_state(record->cpu_generator);
  if (x.is_cuda()) {
    record->device_generator = at::globalContext().defaultGenerator(x.device());
    record->device_rng = rng_state(*record->device_generator);
  }
  // A TensorList's tensors become inputs of the node (so the parameters' gradients flow
  // through the outer graph); Function::apply would pass a std::vector through untouched.
  return CheckpointFunction::apply(x, at::TensorList(trainable), record);
}

}  // namespace cg::model
