#include "train/pytorch_optimizers.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "train/element_loop.h"

namespace cg::train {
namespace {

// One parameter's arrays for the one-pass update: p and the state tensors are updated in
// place, g is read.
template <typename T>
struct Slice {
  T* p;
  const T* g;
  T* s1;  // Adam: exp_avg; RMSprop: square_avg
  T* s2;  // Adam: exp_avg_sq; RMSprop: unused
  int64_t n;
};

bool fusable(const torch::Tensor& p, const torch::Tensor& grad) {
  return p.device().is_cpu() && grad.device().is_cpu() && p.scalar_type() == grad.scalar_type() &&
         (p.scalar_type() == torch::kFloat || p.scalar_type() == torch::kDouble) &&
         p.is_contiguous() && grad.is_contiguous() && !grad.is_sparse() &&
         p.numel() == grad.numel();
}

// torch's CPU kernels (AVX2 build) compute addcmul as one fused multiply-add; the
// moment updates below do the same where the CPU has FMA, so they match torch bit for bit.
bool cpu_has_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

template <typename T>
inline T fused_multiply_add(T a, T b, T c) {
  if constexpr (std::is_same_v<T, float>)
    return __builtin_fmaf(a, b, c);
  else
    return __builtin_fma(a, b, c);
}

// Adam's moments: m.lerp_(g, w); v.mul_(b2).addcmul_(g, g, c2).
template <typename T, bool kFma>
__attribute__((always_inline)) inline void adam_moments(const Slice<T>& s, int64_t begin,
                                                        int64_t end, T w, bool small_weight, T b2,
                                                        T c2) {
  const T* __restrict g = s.g;
  T* __restrict m = s.s1;
  T* __restrict v = s.s2;
  for (int64_t k = begin; k < end; ++k) {
    const T gk = g[k], mk = m[k];
    m[k] = small_weight ? mk + w * (gk - mk) : gk - (gk - mk) * (T(1) - w);
    const T decayed = v[k] * b2;
    v[k] = kFma ? fused_multiply_add(c2 * gk, gk, decayed) : decayed + c2 * gk * gk;
  }
}

// RMSprop's square average: sq.mul_(a).addcmul_(g, g, c).
template <typename T, bool kFma>
__attribute__((always_inline)) inline void rmsprop_moments(const Slice<T>& s, int64_t begin,
                                                           int64_t end, T a, T c) {
  const T* __restrict g = s.g;
  T* __restrict sq = s.s1;
  for (int64_t k = begin; k < end; ++k) {
    const T gk = g[k];
    const T decayed = sq[k] * a;
    sq[k] = kFma ? fused_multiply_add(c * gk, gk, decayed) : decayed + c * gk * gk;
  }
}

template <typename T>
__attribute__((target("avx2,fma"))) void adam_moments_fma(const Slice<T>& s, int64_t begin,
                                                          int64_t end, T w, bool small, T b2,
                                                          T c2) {
  adam_moments<T, true>(s, begin, end, w, small, b2, c2);
}

template <typename T>
__attribute__((target("avx2,fma"))) void rmsprop_moments_fma(const Slice<T>& s, int64_t begin,
                                                             int64_t end, T a, T c) {
  rmsprop_moments<T, true>(s, begin, end, a, c);
}

// The parameter passes: p.addcdiv_(m, sqrt(v) / bc2 + eps, -step_size) for Adam,
// p.addcdiv_(g, sqrt(sq) + eps, -lr) for RMSprop, with s2 holding the square roots;
// (value * t1) / t2 as torch's kernel orders it. The avx2 copies (no FMA: nothing here may
// be contracted) divide eight floats at a time; IEEE division gives the same results at
// any width.
template <typename T>
__attribute__((always_inline)) inline void adam_parameters(const Slice<T>& s, int64_t begin,
                                                           int64_t end, T lr, T bc2, T e) {
  T* __restrict p = s.p;
  const T* __restrict m = s.s1;
  const T* __restrict root = s.s2;
  for (int64_t k = begin; k < end; ++k) p[k] = p[k] + lr * m[k] / (root[k] / bc2 + e);
}

template <typename T>
__attribute__((always_inline)) inline void rmsprop_parameters(const Slice<T>& s, int64_t begin,
                                                              int64_t end, T step, T e) {
  T* __restrict p = s.p;
  const T* __restrict g = s.g;
  const T* __restrict root = s.s2;
  for (int64_t k = begin; k < end; ++k) p[k] = p[k] + step * g[k] / (root[k] + e);
}

template <typename T>
__attribute__((target("avx2"))) void adam_parameters_avx2(const Slice<T>& s, int64_t begin,
                                                          int64_t end, T lr, T bc2, T e) {
  adam_parameters<T>(s, begin, end, lr, bc2, e);
}

template <typename T>
__attribute__((target("avx2"))) void rmsprop_parameters_avx2(const Slice<T>& s, int64_t begin,
                                                             int64_t end, T step, T e) {
  rmsprop_parameters<T>(s, begin, end, step, e);
}

// `slices` with s2 pointing at torch's sqrt of each of `moments` (kept alive in `roots`):
// the element-wise square root is torch's own, as the reference optimizers take it.
template <typename T>
std::vector<Slice<T>> with_square_roots(const std::vector<Slice<T>>& slices,
                                        const std::vector<torch::Tensor>& moments,
                                        std::vector<torch::Tensor>& roots) {
  roots.clear();
  roots.reserve(moments.size());
  for (const auto& v : moments) roots.push_back(v.sqrt());
  std::vector<Slice<T>> out = slices;
  for (size_t i = 0; i < slices.size(); ++i) out[i].s2 = roots[i].data_ptr<T>();
  return out;
}

// torch.optim.Adam's single-tensor update, every scalar in T as torch's CPU kernels take
// them: m.lerp_(g, 1 - beta1); v.mul_(beta2).addcmul_(g, g, 1 - beta2) (one pass);
// sqrt(v) (torch's own, per parameter: MKL's, which is not correctly rounded);
// p.addcdiv_(m, sqrt(v) / bc2 + eps, -step_size) (one pass).
template <typename T>
void adam_pass(const std::vector<Slice<T>>& slices, const std::vector<torch::Tensor>& second,
               double beta1, double beta2, double eps, double step_size,
               double bias_correction2_sqrt) {
  const T w = static_cast<T>(1 - beta1), b2 = static_cast<T>(beta2), c2 = static_cast<T>(1 - beta2),
          e = static_cast<T>(eps), bc2 = static_cast<T>(bias_correction2_sqrt),
          lr = static_cast<T>(-step_size);
  const bool small = std::abs(w) < T(0.5);
  const bool fma = cpu_has_fma();
  for_all_elements(slices, [&](const Slice<T>& s, int64_t begin, int64_t end) {
    if (fma)
      adam_moments_fma<T>(s, begin, end, w, small, b2, c2);
    else
      adam_moments<T, false>(s, begin, end, w, small, b2, c2);
  });
  std::vector<torch::Tensor> roots;
  const std::vector<Slice<T>> with_roots = with_square_roots(slices, second, roots);
  const bool avx2 = cpu_has_avx2();
  for_all_elements(with_roots, [&](const Slice<T>& s, int64_t begin, int64_t end) {
    if (avx2)
      adam_parameters_avx2<T>(s, begin, end, lr, bc2, e);
    else
      adam_parameters<T>(s, begin, end, lr, bc2, e);
  });
}

// torch.optim.RMSprop's single-tensor update: sq.mul_(alpha).addcmul_(g, g, 1 - alpha)
// (one pass); sqrt(sq) (torch's); p.addcdiv_(g, sqrt(sq) + eps, -lr) (one pass).
template <typename T>
void rmsprop_pass(const std::vector<Slice<T>>& slices, const std::vector<torch::Tensor>& square,
                  double alpha, double eps, double lr) {
  const T a = static_cast<T>(alpha), c = static_cast<T>(1 - alpha), e = static_cast<T>(eps),
          step = static_cast<T>(-lr);
  const bool fma = cpu_has_fma();
  for_all_elements(slices, [&](const Slice<T>& s, int64_t begin, int64_t end) {
    if (fma)
      rmsprop_moments_fma<T>(s, begin, end, a, c);
    else
      rmsprop_moments<T, false>(s, begin, end, a, c);
  });
  std::vector<torch::Tensor> roots;
  const std::vector<Slice<T>> with_roots = with_square_roots(slices, square, roots);
  const bool avx2 = cpu_has_avx2();
  for_all_elements(with_roots, [&](const Slice<T>& s, int64_t begin, int64_t end) {
    if (avx2)
      rmsprop_parameters_avx2<T>(s, begin, end, step, e);
    else
      rmsprop_parameters<T>(s, begin, end, step, e);
  });
}

// Writes through data pointers bypass the version counters that in-place operators bump
// (autograd's check that a saved tensor was not changed): bump them here.
template <typename T>
Slice<T> slice_of(torch::Tensor& p, const torch::Tensor& grad, torch::Tensor& s1,
                  torch::Tensor* s2) {
  for (torch::Tensor* t : {&p, &s1, s2}) {
    if (t != nullptr) t->unsafeGetTensorImpl()->bump_version();
  }
  return {p.data_ptr<T>(), grad.data_ptr<T>(), s1.data_ptr<T>(),
          s2 != nullptr ? s2->data_ptr<T>() : nullptr, p.numel()};
}

}  // namespace

torch::Tensor PyTorchAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
    TORCH_CHECK(!options.amsgrad() && options.weight_decay() == 0,
                "PyTorchAdam supports neither AMSGrad nor weight decay");
    const auto [beta1, beta2] = options.betas();
    // Parameters of one step count share bias corrections and so one pass (all of a group
    // after the first step).
    std::vector<Slice<float>> floats;
    std::vector<Slice<double>> doubles;
    std::vector<torch::Tensor> float_second, double_second;
    int64_t pass_step = -1;
    auto flush = [&] {
      if (pass_step < 0) return;
      const double bias_correction1 = 1 - std::pow(beta1, pass_step);
      // As torch: bias_correction2 ** 0.5 (pow, which differs from sqrt in the last bit at
      // some steps).
      const double bias_correction2_sqrt = std::pow(1 - std::pow(beta2, pass_step), 0.5);
      const double step_size = options.lr() / bias_correction1;
      if (!floats.empty())
        adam_pass(floats, float_second, beta1, beta2, options.eps(), step_size,
                  bias_correction2_sqrt);
      if (!doubles.empty())
        adam_pass(doubles, double_second, beta1, beta2, options.eps(), step_size,
                  bias_correction2_sqrt);
      floats.clear();
      doubles.clear();
      float_second.clear();
      double_second.clear();
    };
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const torch::Tensor& grad = p.grad();
      auto& slot = state_[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      if (fusable(p, grad) && state.exp_avg().is_contiguous() &&
          state.exp_avg_sq().is_contiguous()) {
        if (state.step() != pass_step) flush();
        pass_step = state.step();
        if (p.scalar_type() == torch::kFloat) {
          floats.push_back(slice_of<float>(p, grad, state.exp_avg(), &state.exp_avg_sq()));
          float_second.push_back(state.exp_avg_sq());
        } else {
          doubles.push_back(slice_of<double>(p, grad, state.exp_avg(), &state.exp_avg_sq()));
          double_second.push_back(state.exp_avg_sq());
        }
        continue;
      }
      const double bias_correction1 = 1 - std::pow(beta1, state.step());
      const double bias_correction2_sqrt = std::pow(1 - std::pow(beta2, state.step()), 0.5);
      state.exp_avg().lerp_(grad, 1 - beta1);
      state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      torch::Tensor denom = (state.exp_avg_sq().sqrt() / bias_correction2_sqrt).add_(options.eps());
      p.addcdiv_(state.exp_avg(), denom, -options.lr() / bias_correction1);
    }
    flush();
  }
  return loss;
}

torch::Tensor PyTorchRmsprop::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    auto& options = static_cast<torch::optim::RMSpropOptions&>(group.options());
    TORCH_CHECK(options.momentum() == 0 && !options.centered() && options.weight_decay() == 0,
                "PyTorchRmsprop supports neither momentum, centering nor weight decay");
    std::vector<Slice<float>> floats;
    std::vector<Slice<double>> doubles;
    std::vector<torch::Tensor> float_square, double_square;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const torch::Tensor& grad = p.grad();
      auto& slot = state_[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::RMSpropParamState>();
        fresh->step(0);
        fresh->square_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::RMSpropParamState&>(*slot);
      state.step(state.step() + 1);
      if (fusable(p, grad) && state.square_avg().is_contiguous()) {
        if (p.scalar_type() == torch::kFloat) {
          floats.push_back(slice_of<float>(p, grad, state.square_avg(), nullptr));
          float_square.push_back(state.square_avg());
        } else {
          doubles.push_back(slice_of<double>(p, grad, state.square_avg(), nullptr));
          double_square.push_back(state.square_avg());
        }
        continue;
      }
      state.square_avg().mul_(options.alpha()).addcmul_(grad, grad, 1 - options.alpha());
      p.addcdiv_(grad, state.square_avg().sqrt().add_(options.eps()), -options.lr());
    }
    if (!floats.empty())
      rmsprop_pass(floats, float_square, options.alpha(), options.eps(), options.lr());
    if (!doubles.empty())
      rmsprop_pass(doubles, double_square, options.alpha(), options.eps(), options.lr());
  }
  return loss;
}

}  // namespace cg::train
