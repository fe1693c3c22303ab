#include "train/cycle_gan_step.h"

#include <chrono>
#include <functional>
#include <utility>

#include "common/error.h"
#include "common/rng.h"
#include "model/init.h"
#include "model/losses.h"
#include "train/loss_terms.h"
#include "train/nonfinite.h"
#include "train/pytorch_optimizers.h"
#include "train/side_by_side.h"

namespace cg::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainerOptions& o,
                                                        std::vector<torch::Tensor> params,
                                                        double lr) {
  if (o.optimizer == OptimizerKind::kAdam) {
    return std::make_unique<PyTorchAdam>(std::move(params),
                                         torch::optim::AdamOptions(lr).betas({o.beta1, o.beta2}));
  }
  return std::make_unique<PyTorchRmsprop>(
      std::move(params),
      torch::optim::RMSpropOptions(lr).alpha(o.rmsprop_alpha).eps(o.rmsprop_eps));
}

model::CycleGan make_model(const model::CycleGanOptions& options, uint64_t seed,
                           const torch::Device& device, torch::Dtype dtype) {
  if (device.is_cuda()) {
    const auto available = static_cast<int64_t>(torch::cuda::device_count());
    CG_REQUIRE(available > 0, ConfigError, "--device ", device.str(),
               ": no CUDA device is available on this machine");
    CG_REQUIRE(device.index() < available, ConfigError, "--device ", device.str(), ": only ",
               available, " CUDA device(s) are visible");
  }
  torch::manual_seed(seed);
  model::CycleGan net(options);
  model::init_weights(*net);
  net->to(device, dtype);
  return net;
}

// Freezes D_A and D_B for the generators' update, and unfreezes them however it ends.
class FrozenDiscriminators {
 public:
  explicit FrozenDiscriminators(model::CycleGan& net) : net_(net) {
    net_->set_discriminators_trainable(false);
  }
  ~FrozenDiscriminators() { net_->set_discriminators_trainable(true); }
  FrozenDiscriminators(const FrozenDiscriminators&) = delete;
  FrozenDiscriminators& operator=(const FrozenDiscriminators&) = delete;

 private:
  model::CycleGan& net_;
};

model::AutocastState autocast_state(const TrainerOptions& o) {
  CG_REQUIRE(o.precision == Precision::kFp32 || o.dtype == torch::kFloat, ConfigError,
             "mixed precision needs float32 master weights");
  if (o.precision == Precision::kFp32) return {};
  return {true, o.precision == Precision::kBf16 ? torch::kBFloat16 : torch::kHalf, true};
}

GradScalerOptions scaler_options(const TrainerOptions& o) {
  GradScalerOptions options;
  options.enabled = o.precision == Precision::kFp16;
  options.init_scale = o.loss_scale_init;
  return options;
}

double learning_rate(torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().front().options().get_lr();
}

// The step's losses, with one device-to-host copy of all values.
StepLosses read_losses(const torch::Tensor& d_a, const torch::Tensor& d_b,
                       const CycleGanStep::GeneratorLosses& g) {
  std::array<torch::Tensor, kLossTerms.size()> terms;
  const auto put = [&](double StepLosses::*term, const torch::Tensor& value) {
    terms[loss_index(term)] = value.detach();
  };
  put(&StepLosses::d_a, d_a);
  put(&StepLosses::d_b, d_b);
  put(&StepLosses::g_adv, g.g_adv);
  put(&StepLosses::f_adv, g.f_adv);
  put(&StepLosses::cycle_a, g.cycle_a);
  put(&StepLosses::cycle_b, g.cycle_b);
  put(&StepLosses::idt_a, g.idt_a);
  put(&StepLosses::idt_b, g.idt_b);
  put(&StepLosses::g_total, g.total);
  for (size_t i = 0; i < terms.size(); ++i) {
    TORCH_INTERNAL_ASSERT(terms[i].defined(), "no value for loss term ", kLossTerms[i].name);
  }
  const torch::Tensor values = torch::stack(std::vector<torch::Tensor>(terms.begin(), terms.end()))
                                   .to(torch::kCPU, torch::kDouble);
  const double* v = values.data_ptr<double>();
  StepLosses losses;
  for (size_t i = 0; i < kLossTerms.size(); ++i) losses.*kLossTerms[i].value = v[i];
  return losses;
}

}  // namespace

CycleGanStep::CycleGanStep(const TrainerOptions& options,
                           const model::CycleGanOptions& model_options,
                           parallel::Communicator* comm, parallel::ReducerOptions reducer_options)
    : options_(options),
      device_(options_.device),
      model_(make_model(model_options, options_.seed, device_, options_.dtype)),
      pool_a_(options_.pool_size, mix_seed(options_.seed, 0x9001)),
      pool_b_(options_.pool_size, mix_seed(options_.seed, 0x9002)),
      autocast_(autocast_state(options_)),
      scaler_g_(scaler_options(options_), device_),
      scaler_d_a_(scaler_options(options_), device_),
      scaler_d_b_(scaler_options(options_), device_) {
  opt_g_ = make_optimizer(options_, model_->generator_parameters(), options_.lr_g);
  opt_d_a_ = make_optimizer(options_, model_->d_a_parameters(), options_.lr_d);
  opt_d_b_ = make_optimizer(options_, model_->d_b_parameters(), options_.lr_d);
  if (comm != nullptr && comm->size() > 1) {
    reduce_g_ = std::make_unique<parallel::GradientReducer>(model_->generator_parameters(), *comm,
                                                            reducer_options);
    reduce_d_a_ = std::make_unique<parallel::GradientReducer>(model_->d_a_parameters(), *comm,
                                                              reducer_options);
    reduce_d_b_ = std::make_unique<parallel::GradientReducer>(model_->d_b_parameters(), *comm,
                                                              reducer_options);
    allreduce_bytes_per_step_ =
        reduce_g_->total_bytes() + reduce_d_a_->total_bytes() + reduce_d_b_->total_bytes();
  }
  // Identity needs G(b) to be comparable with b: only where both domains share channels.
  const bool identity_possible = model_options.channels_a == model_options.channels_b;
  identity_weight_ =
      identity_possible
          ? options_.identity_weight * (options_.identity_relative ? options_.lambda_cycle : 1.0)
          : 0.0;
}

void CycleGanStep::set_learning_rate_factor(double factor) {
  for (auto* opt : {opt_g_.get(), opt_d_a_.get(), opt_d_b_.get()}) {
    const double base = opt == opt_g_.get() ? options_.lr_g : options_.lr_d;
    for (auto& group : opt->param_groups()) group.options().set_lr(base * factor);
  }
}

// Backward pass of `loss` (scaled by `scaler` in fp16 runs), then (data-parallel) the mean
// of the gradients over ranks, then the update unless a gradient is not finite: the
// gradients are the all-reduced ones, so every rank skips or drops the same updates. In
// fp16 that is the scaler's skip (the scale backs off); otherwise the update is dropped,
// and the loop applies --on-nonfinite.
void CycleGanStep::update(const char* name, const torch::Tensor& loss,
                          torch::optim::Optimizer& optimizer, parallel::GradientReducer* reducer,
                          GradScaler& scaler, StepResult& result) {
  backward(scaler.scale(loss), reducer, result);
  apply_update(name, optimizer, scaler, result);
}

void CycleGanStep::apply_update(const char* name, torch::optim::Optimizer& optimizer,
                                GradScaler& scaler, StepResult& result) {
  const auto start = Clock::now();
  const std::vector<torch::Tensor>& params = optimizer.param_groups().front().params();
  bool finite = true;
  if (scaler.options().enabled) {
    finite = !scaler.unscale(params);
    result.scaler_skipped = result.scaler_skipped || !finite;
    scaler.update(!finite);
  } else {
    finite = gradients_finite(params);
    if (!finite) result.dropped_updates.emplace_back(name);
  }
  if (finite) optimizer.step();
  result.optimizer_seconds += seconds_since(start);
}

void CycleGanStep::backward(const torch::Tensor& loss, parallel::GradientReducer* reducer,
                            StepResult& result) {
  if (reducer != nullptr) reducer->prepare();
  loss.backward();
  if (reducer != nullptr) {
    reducer->finish();
    comm_wait_seconds_ += reducer->last_wait_seconds();
    result.allreduce_seconds += reducer->last_wait_seconds();
  }
}

// A GPU runs one stream of kernels whichever thread launches them, and with more than one
// rank the reducers all-reduce each update's gradients from one thread, in one order on
// every rank (and a generator gradient is complete only after both halves).
bool CycleGanStep::halves_side_by_side() const {
  return device_.is_cpu() && reduce_g_ == nullptr && side_by_side_parallel();
}

void CycleGanStep::run_halves(const std::function<void()>& half_a,
                              const std::function<void()>& half_b) {
  if (halves_side_by_side()) {
    side_by_side(half_a, half_b);
  } else {
    half_a();
    half_b();
  }
}

CycleGanStep::Forward CycleGanStep::forward_generators(const data::UnpairedBatch& batch) {
  Forward fwd;
  fwd.real_a = batch.a.to(device_, options_.dtype, /*non_blocking=*/true);
  fwd.real_b = batch.b.to(device_, options_.dtype, /*non_blocking=*/true);
  // G and F run once per step: the D updates only change D, so these fakes are exactly
  // what a second forward pass after them would give, and update_generators reuses them.
  run_halves(
      [&] {
        const model::AutocastGuard autocast(device_.type(), autocast_);
        fwd.fake_b = model_->g(fwd.real_a);
      },
      [&] {
        const model::AutocastGuard autocast(device_.type(), autocast_);
        fwd.fake_a = model_->f(fwd.real_b);
      });
  return fwd;
}

// The pools keep fakes in the master dtype, whatever precision made them, so that a
// checkpoint's pools do not depend on --precision.
torch::Tensor CycleGanStep::update_discriminator(const char* name, Net discriminator,
                                                 const torch::Tensor& real,
                                                 const torch::Tensor& fake, model::ImagePool& pool,
                                                 torch::optim::Optimizer& optimizer,
                                                 parallel::GradientReducer* reducer,
                                                 GradScaler& scaler, StepResult& result) {
  optimizer.zero_grad();
  model::CycleGanImpl& nets = *model_;
  torch::Tensor loss;
  {
    const model::AutocastGuard autocast(device_.type(), autocast_);
    loss = model::discriminator_loss(
        (nets.*discriminator)(real),
        (nets.*discriminator)(pool.query(fake.detach().to(options_.dtype))), options_.gan_loss);
  }
  update(name, loss, optimizer, reducer, scaler, result);
  return loss.detach();
}

torch::Tensor CycleGanStep::update_d_b(const Forward& fwd, StepResult& result) {
  return update_discriminator("D_B", &model::CycleGanImpl::d_b, fwd.real_b, fwd.fake_b, pool_b_,
                              *opt_d_b_, reduce_d_b_.get(), scaler_d_b_, result);
}

torch::Tensor CycleGanStep::update_d_a(const Forward& fwd, StepResult& result) {
  return update_discriminator("D_A", &model::CycleGanImpl::d_a, fwd.real_a, fwd.fake_a, pool_a_,
                              *opt_d_a_, reduce_d_a_.get(), scaler_d_a_, result);
}

torch::Tensor CycleGanStep::update_d_b(const Forward& fwd) { return update_d_b(fwd, current_); }

torch::Tensor CycleGanStep::update_d_a(const Forward& fwd) { return update_d_a(fwd, current_); }

CycleGanStep::GeneratorHalf CycleGanStep::generator_half(Net judge, Net back,
                                                         const torch::Tensor& translated,
                                                         const torch::Tensor& real) {
  model::CycleGanImpl& nets = *model_;
  const model::AutocastGuard autocast(device_.type(), autocast_);
  GeneratorHalf half;
  half.adv = model::adversarial_loss((nets.*judge)(translated), true, options_.gan_loss);
  half.cycle = model::l1_distance((nets.*back)(translated), real) * options_.lambda_cycle;
  half.sum = half.adv + half.cycle;
  if (identity_weight_ > 0) {
    half.idt = model::l1_distance((nets.*back)(real), real) * identity_weight_;
    half.sum = half.sum + half.idt;
  } else {
    half.idt = torch::zeros({}, real.options());
  }
  return half;
}

// The generators' loss is the sum of two halves that share no tensor: A's (G(a) judged by
// D_B and brought back by F, and F's identity on a) and B's (F(b) judged by D_A and
// brought back by G, and G's identity on b). Side by side, each half runs its forward and
// backward on its own thread; a parameter of G or F then sums its gradients of the two
// halves, which is the sum one backward pass of the total forms (and one of two terms is
// added in either order to the same bits).
CycleGanStep::GeneratorLosses CycleGanStep::update_generators(const Forward& fwd) {
  using model::CycleGanImpl;
  const FrozenDiscriminators frozen(model_);
  opt_g_->zero_grad();
  GeneratorHalf a, b;
  const auto half_a = [&] {
    a = generator_half(&CycleGanImpl::d_b, &CycleGanImpl::f, fwd.fake_b, fwd.real_a);
  };
  const auto half_b = [&] {
    b = generator_half(&CycleGanImpl::d_a, &CycleGanImpl::g, fwd.fake_a, fwd.real_b);
  };
  // Backward and the update run outside autocast, as in PyTorch.
  const bool side_by_side_halves = halves_side_by_side();
  if (side_by_side_halves) {
    side_by_side(
        [&] {
          half_a();
          scaler_g_.scale(a.sum).backward();
        },
        [&] {
          half_b();
          scaler_g_.scale(b.sum).backward();
        });
  } else {
    half_a();
    half_b();
  }
  GeneratorLosses l{a.adv, b.adv, a.cycle, b.cycle, a.idt, b.idt, {}};
  l.total = l.g_adv + l.f_adv + l.cycle_a + l.cycle_b;
  if (identity_weight_ > 0) l.total = l.total + l.idt_a + l.idt_b;
  if (side_by_side_halves) {
    apply_update("G", *opt_g_, scaler_g_, current_);
  } else {
    update("G", l.total, *opt_g_, reduce_g_.get(), scaler_g_, current_);
  }
  return l;
}

StepResult CycleGanStep::step(const data::UnpairedBatch& batch) {
  current_ = {};
  Forward fwd = forward_generators(batch);
  // The two discriminators' updates share nothing but the step's fakes, which they read.
  torch::Tensor loss_d_b, loss_d_a;
  StepResult result_d_a;
  run_halves([&] { loss_d_b = update_d_b(fwd, current_); },
             [&] { loss_d_a = update_d_a(fwd, result_d_a); });
  // D_A's outcome after D_B's, as if they had run one after the other.
  current_.dropped_updates.insert(current_.dropped_updates.end(),
                                  result_d_a.dropped_updates.begin(),
                                  result_d_a.dropped_updates.end());
  current_.scaler_skipped = current_.scaler_skipped || result_d_a.scaler_skipped;
  current_.optimizer_seconds += result_d_a.optimizer_seconds;
  current_.allreduce_seconds += result_d_a.allreduce_seconds;
  const GeneratorLosses g = update_generators(fwd);
  StepResult result = std::exchange(current_, {});
  result.losses = read_losses(loss_d_a, loss_d_b, g);
  result.lr_g = learning_rate(*opt_g_);
  result.lr_d = learning_rate(*opt_d_a_);
  if (scaler_g_.options().enabled) {
    result.loss_scales = {scaler_g_.scale_value(), scaler_d_a_.scale_value(),
                          scaler_d_b_.scale_value()};
  }
  result.allreduce_bytes = allreduce_bytes_per_step_;
  if (result.update_skipped()) ++update_skipped_steps_;
  return result;
}

}  // namespace cg::train
