// PyTorchAdam and PyTorchRmsprop claim torch.optim's CPU results bit for bit. Checked
// against implementations that share no code with them, on random parameters and
// gradients over several steps, weights and optimizer state compared bitwise:
//   Adam     a restatement, operator for operator, of torch.optim.Adam's single-tensor
//            update (torch/optim/adam.py, _single_tensor_adam; what torch.optim.Adam runs
//            for CPU tensors). LibTorch's own torch::optim::Adam cannot be the reference: it
//            updates the first moment as m * beta1 + g * (1 - beta1), not with lerp, which
//            is why PyTorchAdam exists (the last test shows that the comparison sees that).
//   RMSprop  LibTorch's torch::optim::RMSprop, whose operators are torch.optim.RMSprop's.
// The cases cover both of the fused passes' ways (contiguous float/double, and the
// operator fallback for strided parameters), float and double in one group, several
// groups, a learning rate changed between steps, parameters without a gradient in some
// steps (so a group holds several step counts), tiny and zero gradients, both branches of
// lerp (weight below and above 0.5) and one and two threads.
#include "train/pytorch_optimizers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

namespace cg::train {
namespace {

using torch::Tensor;

// torch.optim.Adam for CPU tensors (amsgrad=False, weight_decay=0, maximize=False), each
// operator as adam.py writes it, scalars as Python computes them (floats are doubles).
class ReferenceAdam {
 public:
  struct Group {
    std::vector<Tensor> params;
    double lr, beta1, beta2, eps;
  };
  explicit ReferenceAdam(std::vector<Group> groups) : groups_(std::move(groups)) {
    for (const auto& g : groups_) {
      for (const auto& p : g.params) {
        state_.push_back({0, torch::zeros_like(p), torch::zeros_like(p)});
      }
    }
  }
  void step() {
    torch::NoGradGuard no_grad;
    size_t i = 0;
    for (auto& g : groups_) {
      for (auto& param : g.params) {
        State& s = state_[i++];
        if (!param.grad().defined()) continue;
        const Tensor& grad = param.grad();
        s.step += 1;
        s.exp_avg.lerp_(grad, 1 - g.beta1);
        s.exp_avg_sq.mul_(g.beta2).addcmul_(grad, grad, 1 - g.beta2);
        const double step = static_cast<double>(s.step);
        const double bias_correction1 = 1 - std::pow(g.beta1, step);
        const double bias_correction2 = 1 - std::pow(g.beta2, step);
        const double step_size = g.lr / bias_correction1;
        // Python's `bias_correction2 ** 0.5`: libm's pow, which is not always sqrt's
        // correctly rounded result.
        const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
        Tensor denom = (s.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(g.eps);
        param.addcdiv_(s.exp_avg, denom, -step_size);
      }
    }
  }
  std::vector<Group>& groups() { return groups_; }
  struct State {
    int64_t step;
    Tensor exp_avg, exp_avg_sq;
  };
  const State& state(size_t i) const { return state_[i]; }

 private:
  std::vector<Group> groups_;
  std::vector<State> state_;
};

// Parameter sizes: a large one (split across threads, and beyond one parallel grain),
// odd ones (vector tails), a single element.
const std::vector<int64_t> kSizes = {200003, 7, 4096, 70001, 1};

enum class Layout { kContiguous, kStrided };

// A leaf parameter of `n` elements with the values of `values`; kStrided: every second
// element of an (n, 2) tensor, which the fused passes leave to the operator fallback.
Tensor make_param(const Tensor& values, Layout layout) {
  if (layout == Layout::kContiguous) return values.clone().set_requires_grad(true);
  Tensor wide = torch::zeros({values.numel(), 2}, values.options());
  wide.select(1, 0).copy_(values);
  return wide.select(1, 0).detach().set_requires_grad(true);
}

void set_grad(Tensor& param, const Tensor& grad, Layout layout) {
  if (layout == Layout::kContiguous) {
    param.mutable_grad() = grad.clone();
    return;
  }
  Tensor wide = torch::zeros({grad.numel(), 2}, grad.options());
  wide.select(1, 0).copy_(grad);
  param.mutable_grad() = wide.select(1, 0);
}

// The gradient of parameter i at step s (seeded): normal values at a scale that changes
// from step to step (down to 1e-7, where eps matters), a tenth of them exactly zero, and
// none at all for some (parameter, step) pairs.
Tensor gradient(int64_t s, size_t i, const Tensor& like) {
  if ((s + static_cast<int64_t>(i)) % 4 == 3) return Tensor();
  const double scales[] = {1.0, 1e-7, 1e3, 0.01};
  torch::Tensor g = torch::randn(like.sizes(), like.options()) * scales[s % 4];
  return g.masked_fill_(torch::rand(like.sizes()) < 0.1, 0);
}

struct Mismatch {
  int64_t count = 0;
  double max_abs = 0;
};

Mismatch compare(const Tensor& a, const Tensor& b) {
  Tensor differ = a.ne(b);
  Mismatch m;
  m.count = differ.sum().item<int64_t>();
  if (m.count > 0) m.max_abs = (a - b).abs().max().item<double>();
  return m;
}

// Which tensors the fused/fallback paths see: every parameter in one dtype, or alternating
// float and double in one group.
enum class Dtypes { kFloat, kDouble, kMixed };

torch::Dtype dtype_of(Dtypes d, size_t i) {
  if (d == Dtypes::kFloat) return torch::kFloat;
  if (d == Dtypes::kDouble) return torch::kDouble;
  return i % 2 == 0 ? torch::kFloat : torch::kDouble;
}

// Two groups (generators, discriminators as the trainer makes them) of the kSizes
// parameters, with the same values for the optimizer under test and the reference.
struct Params {
  std::vector<Tensor> tested[2], reference[2];
};

Params make_params(Dtypes dtypes, Layout layout) {
  torch::manual_seed(1);
  Params out;
  for (int group = 0; group < 2; ++group) {
    for (size_t i = 0; i < kSizes.size(); ++i) {
      Tensor values = torch::randn({kSizes[i]}, torch::dtype(dtype_of(dtypes, i)));
      out.tested[group].push_back(make_param(values, layout));
      out.reference[group].push_back(values.clone().set_requires_grad(true));
    }
  }
  return out;
}

// Runs `steps` steps of both, giving both the same gradients; after each, every weight
// must be bitwise equal. `set_lr(group, lr)` changes the learning rate of both at step 3
// (as the trainer's schedule does).
void run_and_compare(Params& p, Layout layout, int64_t steps,
                     const std::function<void()>& step_tested,
                     const std::function<void()>& step_reference,
                     const std::function<void(int, double)>& set_lr,
                     const std::function<void(int, size_t)>& compare_state = nullptr) {
  torch::manual_seed(2);
  for (int64_t s = 0; s < steps; ++s) {
    if (s == 3) {
      set_lr(0, 3e-4);
      set_lr(1, 7e-5);
    }
    for (int group = 0; group < 2; ++group) {
      for (size_t i = 0; i < kSizes.size(); ++i) {
        Tensor g = gradient(s, i, p.reference[group][i]);
        Tensor& tested = p.tested[group][i];
        Tensor& reference = p.reference[group][i];
        if (g.defined()) {
          set_grad(tested, g, layout);
          reference.mutable_grad() = g.clone();
        } else {
          tested.mutable_grad() = Tensor();
          reference.mutable_grad() = Tensor();
        }
      }
    }
    step_tested();
    step_reference();
    for (int group = 0; group < 2; ++group) {
      for (size_t i = 0; i < kSizes.size(); ++i) {
        const Mismatch m = compare(p.tested[group][i], p.reference[group][i]);
        ASSERT_EQ(m.count, 0) << "step " << s + 1 << ", group " << group << ", parameter " << i
                              << " (" << kSizes[i] << " elements, "
                              << p.reference[group][i].scalar_type() << "): " << m.count
                              << " weights differ, by up to " << m.max_abs;
        if (compare_state) compare_state(group, i);
      }
    }
  }
}

struct Case {
  Dtypes dtypes;
  Layout layout;
  int threads;
};

std::string describe(const Case& c) {
  const char* dtypes[] = {"Float", "Double", "Mixed"};
  return std::string(dtypes[static_cast<int>(c.dtypes)]) +
         (c.layout == Layout::kContiguous ? "Fused" : "StridedFallback") +
         std::to_string(c.threads) + "Threads";
}

// Readable in test names and in CTest's names of the discovered tests.
void PrintTo(const Case& c, std::ostream* os) { *os << describe(c); }

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return describe(info.param); }

class OptimizerMatchesTorch : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    threads_ = torch::get_num_threads();
    torch::set_num_threads(GetParam().threads);
  }
  void TearDown() override { torch::set_num_threads(threads_); }

 private:
  int threads_ = 1;
};

void check_adam(const Case& c, double beta1, double beta2, int64_t steps) {
  Params p = make_params(c.dtypes, c.layout);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<ReferenceAdam::Group> reference_groups;
  const double lrs[] = {2e-4, 1e-3};
  for (int group = 0; group < 2; ++group) {
    const double eps = group == 0 ? 1e-8 : 1e-6;
    groups.emplace_back(p.tested[group],
                        std::make_unique<torch::optim::AdamOptions>(
                            torch::optim::AdamOptions(lrs[group]).betas({beta1, beta2}).eps(eps)));
    reference_groups.push_back({p.reference[group], lrs[group], beta1, beta2, eps});
  }
  PyTorchAdam adam(std::move(groups), torch::optim::AdamOptions());
  ReferenceAdam reference(std::move(reference_groups));
  auto compare_state = [&](int group, size_t i) {
    const auto& key = p.tested[group][i].unsafeGetTensorImpl();
    const ReferenceAdam::State& want = reference.state(group * kSizes.size() + i);
    if (want.step == 0) return;
    const auto& got = static_cast<const torch::optim::AdamParamState&>(*adam.state().at(key));
    EXPECT_EQ(got.step(), want.step);
    EXPECT_EQ(compare(got.exp_avg(), want.exp_avg).count, 0) << "exp_avg of parameter " << i;
    EXPECT_EQ(compare(got.exp_avg_sq(), want.exp_avg_sq).count, 0)
        << "exp_avg_sq of parameter " << i;
  };
  run_and_compare(
      p, c.layout, steps, [&] { adam.step(); }, [&] { reference.step(); },
      [&](int group, double lr) {
        adam.param_groups()[group].options().set_lr(lr);
        reference.groups()[group].lr = lr;
      },
      compare_state);
}

// beta1 0.5 (the CycleGAN setting: lerp weight 0.5 takes lerp's second formula) and 0.9
// (weight 0.1, the first).
TEST_P(OptimizerMatchesTorch, AdamBitwiseEqualAfterSteps) {
  check_adam(GetParam(), 0.5, 0.999, 8);
  check_adam(GetParam(), 0.9, 0.99, 8);
}

TEST_P(OptimizerMatchesTorch, RmspropBitwiseEqualToLibTorchsRmsprop) {
  const Case& c = GetParam();
  Params p = make_params(c.dtypes, c.layout);
  auto options = [](double lr) { return torch::optim::RMSpropOptions(lr).alpha(0.9).eps(1e-7); };
  std::vector<torch::optim::OptimizerParamGroup> tested, reference;
  const double lrs[] = {1e-4, 2e-4};
  for (int group = 0; group < 2; ++group) {
    tested.emplace_back(p.tested[group],
                        std::make_unique<torch::optim::RMSpropOptions>(options(lrs[group])));
    reference.emplace_back(p.reference[group],
                           std::make_unique<torch::optim::RMSpropOptions>(options(lrs[group])));
  }
  PyTorchRmsprop rmsprop(std::move(tested), options(1));
  torch::optim::RMSprop libtorch(std::move(reference), options(1));
  auto compare_state = [&](int group, size_t i) {
    auto want = libtorch.state().find(p.reference[group][i].unsafeGetTensorImpl());
    if (want == libtorch.state().end()) return;
    const auto& w = static_cast<const torch::optim::RMSpropParamState&>(*want->second);
    const auto& got = static_cast<const torch::optim::RMSpropParamState&>(
        *rmsprop.state().at(p.tested[group][i].unsafeGetTensorImpl()));
    EXPECT_EQ(got.step(), w.step());
    EXPECT_EQ(compare(got.square_avg(), w.square_avg()).count, 0) << "square_avg of " << i;
  };
  run_and_compare(
      p, c.layout, 8, [&] { rmsprop.step(); }, [&] { libtorch.step(); },
      [&](int group, double lr) {
        rmsprop.param_groups()[group].options().set_lr(lr);
        libtorch.param_groups()[group].options().set_lr(lr);
      },
      compare_state);
}

INSTANTIATE_TEST_SUITE_P(PyTorchAdam, OptimizerMatchesTorch,
                         ::testing::Values(Case{Dtypes::kFloat, Layout::kContiguous, 1},
                                           Case{Dtypes::kFloat, Layout::kContiguous, 2},
                                           Case{Dtypes::kDouble, Layout::kContiguous, 2},
                                           Case{Dtypes::kMixed, Layout::kContiguous, 2},
                                           Case{Dtypes::kFloat, Layout::kStrided, 1},
                                           Case{Dtypes::kDouble, Layout::kStrided, 1}),
                         case_name);

// Step counts where libm's pow(x, 0.5) (Python's `** 0.5`, torch.optim.Adam's bias
// correction) and the correctly rounded sqrt differ in the last bit: with beta2 0.9 the
// first is step 345 (with 0.999, step 1270). In float the scalar's rounding to float hides
// the difference; in double the weights differ: PyTorchAdam takes pow(x, 0.5) as torch does.
TEST(PyTorchAdam, DoubleBitwiseEqualPastStep345WithBeta2Of0_9) {
  torch::manual_seed(3);
  Tensor values = torch::randn({4099}, torch::kDouble);
  Tensor tested = values.clone().set_requires_grad(true);
  Tensor reference = values.clone().set_requires_grad(true);
  PyTorchAdam adam({tested}, torch::optim::AdamOptions(1e-3).betas({0.5, 0.9}));
  ReferenceAdam ref({{{reference}, 1e-3, 0.5, 0.9, 1e-8}});
  for (int64_t s = 1; s <= 360; ++s) {
    Tensor g = torch::randn({4099}, torch::kDouble);
    tested.mutable_grad() = g.clone();
    reference.mutable_grad() = g.clone();
    adam.step();
    ref.step();
    const Mismatch m = compare(tested, reference);
    ASSERT_EQ(m.count, 0) << "step " << s << ": " << m.count << " weights differ, by up to "
                          << m.max_abs;
  }
}

// The comparison above can tell last-bit differences apart: LibTorch's Adam (m * beta1 +
// g * (1 - beta1)) fails it within a few steps.
TEST(PyTorchAdam, LibTorchsAdamIsNotBitwiseTorchOptimAdam) {
  torch::manual_seed(4);
  Tensor values = torch::randn({100003});
  Tensor libtorch_param = values.clone().set_requires_grad(true);
  Tensor reference = values.clone().set_requires_grad(true);
  torch::optim::Adam libtorch({libtorch_param},
                              torch::optim::AdamOptions(2e-4).betas({0.9, 0.999}));
  ReferenceAdam ref({{{reference}, 2e-4, 0.9, 0.999, 1e-8}});
  int64_t differ = 0;
  for (int s = 0; s < 5; ++s) {
    Tensor g = torch::randn({100003});
    libtorch_param.mutable_grad() = g.clone();
    reference.mutable_grad() = g.clone();
    libtorch.step();
    ref.step();
    differ += compare(libtorch_param, reference).count;
  }
  EXPECT_GT(differ, 0);
}

TEST(PyTorchAdam, RefusesOptionsItDoesNotImplement) {
  Tensor p = torch::ones({3}, torch::requires_grad());
  p.mutable_grad() = torch::ones({3});
  PyTorchAdam amsgrad({p}, torch::optim::AdamOptions(1e-3).amsgrad(true));
  EXPECT_THROW(amsgrad.step(), c10::Error);
  PyTorchAdam decay({p}, torch::optim::AdamOptions(1e-3).weight_decay(0.01));
  EXPECT_THROW(decay.step(), c10::Error);
  for (auto options : {torch::optim::RMSpropOptions(1e-3).momentum(0.9),
                       torch::optim::RMSpropOptions(1e-3).centered(true),
                       torch::optim::RMSpropOptions(1e-3).weight_decay(0.01)}) {
    PyTorchRmsprop rmsprop({p}, options);
    EXPECT_THROW(rmsprop.step(), c10::Error);
  }
  EXPECT_TRUE(p.equal(torch::ones({3}))) << "a refused step changed the parameter";
}

}  // namespace
}  // namespace cg::train
