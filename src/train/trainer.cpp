#include "train/trainer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <limits>

#include "common/error.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/rng.h"
#include "common/stop_request.h"
#include "model/init.h"
#include "model/losses.h"
#include "train/loss_terms.h"
#include "train/lr_schedule.h"
#include "train/pytorch_optimizers.h"
#include "train/replicas.h"

namespace cg::train {
namespace {

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

using Clock = std::chrono::steady_clock;

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

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

// Backward pass of `loss` (scaled by `scaler` in fp16 runs), then (data-parallel) the mean
// of the gradients over ranks, then the update unless a gradient is not finite: the
// gradients are the all-reduced ones, so every rank skips or drops the same updates. In
// fp16 that is the scaler's skip (the scale backs off); otherwise the update is dropped,
// see --on-nonfinite.
void Trainer::update(const char* name, const torch::Tensor& loss,
                     torch::optim::Optimizer& optimizer, parallel::GradientReducer* reducer,
                     GradScaler& scaler) {
  backward(scaler.scale(loss), reducer);
  const auto start = Clock::now();
  const std::vector<torch::Tensor>& params = optimizer.param_groups().front().params();
  bool finite = true;
  if (scaler.options().enabled) {
    finite = !scaler.unscale(params);
    scaler_skipped_ = scaler_skipped_ || !finite;
    scaler.update(!finite);
  } else {
    finite = gradients_finite(params);
    if (!finite) dropped_updates_.emplace_back(name);
  }
  if (finite) optimizer.step();
  step_times_.optimizer += seconds_since(start);
}

// Backward pass, then (data-parallel) the mean of the gradients over ranks.
void Trainer::backward(const torch::Tensor& loss, parallel::GradientReducer* reducer) {
  if (reducer != nullptr) reducer->prepare();
  loss.backward();
  if (reducer != nullptr) {
    reducer->finish();
    comm_wait_seconds_ += reducer->last_wait_seconds();
    step_times_.allreduce += reducer->last_wait_seconds();
  }
}

Trainer::Trainer(TrainerOptions options, model::CycleGanOptions model_options,
                 data::UnpairedSource& source, nlohmann::json run_config,
                 parallel::Communicator* comm, parallel::ReducerOptions reducer_options)
    : options_(std::move(options)),
      source_(source),
      run_config_(std::move(run_config)),
      device_(options_.device),
      model_(make_model(model_options, options_.seed, device_, options_.dtype)),
      pool_a_(options_.pool_size, mix_seed(options_.seed, 0x9001)),
      pool_b_(options_.pool_size, mix_seed(options_.seed, 0x9002)),
      checkpoints_((std::filesystem::path(options_.run_dir) / "checkpoints").string(),
                   options_.keep_checkpoints),
      comm_(comm),
      autocast_(autocast_state(options_)),
      scaler_g_(scaler_options(options_), device_),
      scaler_d_a_(scaler_options(options_), device_),
      scaler_d_b_(scaler_options(options_), device_),
      nonfinite_(options_.on_nonfinite, options_.nonfinite_limit),
      peak_memory_(device_),
      report_(options_),
      best_(options_.best_metric) {
  inject_nonfinite_ = injected_nonfinite_steps(comm != nullptr ? comm->rank() : 0);
  CG_REQUIRE(source.channels_a() == model_options.channels_a &&
                 source.channels_b() == model_options.channels_b,
             ConfigError, "the data has ", source.channels_a(), " channels in A and ",
             source.channels_b(), " in B, the model expects ", model_options.channels_a, " and ",
             model_options.channels_b);
  opt_g_ = make_optimizer(options_, model_->generator_parameters(), options_.lr_g);
  opt_d_a_ = make_optimizer(options_, model_->d_a_parameters(), options_.lr_d);
  opt_d_b_ = make_optimizer(options_, model_->d_b_parameters(), options_.lr_d);
  if (world() > 1) {
    synchronize_replicas(*comm_, training_state());
    reduce_g_ = std::make_unique<parallel::GradientReducer>(model_->generator_parameters(), *comm_,
                                                            reducer_options);
    reduce_d_a_ = std::make_unique<parallel::GradientReducer>(model_->d_a_parameters(), *comm_,
                                                              reducer_options);
    reduce_d_b_ = std::make_unique<parallel::GradientReducer>(model_->d_b_parameters(), *comm_,
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

int64_t Trainer::total_steps() const {
  return options_.steps > 0 ? options_.steps : options_.epochs * source_.batches_per_epoch();
}

void Trainer::set_learning_rates() {
  const double factor = lr_factor(step_, total_steps(), options_.lr_decay_start);
  for (auto* opt : {opt_g_.get(), opt_d_a_.get(), opt_d_b_.get()}) {
    const double base = opt == opt_g_.get() ? options_.lr_g : options_.lr_d;
    for (auto& group : opt->param_groups()) group.options().set_lr(base * factor);
  }
}

Trainer::Forward Trainer::forward_generators(const data::UnpairedBatch& batch) {
  set_learning_rates();
  Forward fwd;
  fwd.real_a = batch.a.to(device_, options_.dtype, /*non_blocking=*/true);
  fwd.real_b = batch.b.to(device_, options_.dtype, /*non_blocking=*/true);
  // G and F run once per step: the D updates only change D, so these fakes are exactly
  // what a second forward pass after them would give, and update_generators reuses them.
  const model::AutocastGuard autocast(device_.type(), autocast_);
  fwd.fake_b = model_->g(fwd.real_a);
  fwd.fake_a = model_->f(fwd.real_b);
  return fwd;
}

// The pools keep fakes in the master dtype, whatever precision made them, so that a
// checkpoint's pools do not depend on --precision.
torch::Tensor Trainer::update_d_b(const Forward& fwd) {
  opt_d_b_->zero_grad();
  torch::Tensor loss;
  {
    const model::AutocastGuard autocast(device_.type(), autocast_);
    loss = model::discriminator_loss(
        model_->d_b(fwd.real_b), model_->d_b(pool_b_.query(fwd.fake_b.detach().to(options_.dtype))),
        options_.gan_loss);
  }
  if (inject_nonfinite_.count(step_ + 1) != 0)
    loss = loss * std::numeric_limits<double>::quiet_NaN();
  update("D_B", loss, *opt_d_b_, reduce_d_b_.get(), scaler_d_b_);
  return loss.detach();
}

torch::Tensor Trainer::update_d_a(const Forward& fwd) {
  opt_d_a_->zero_grad();
  torch::Tensor loss;
  {
    const model::AutocastGuard autocast(device_.type(), autocast_);
    loss = model::discriminator_loss(
        model_->d_a(fwd.real_a), model_->d_a(pool_a_.query(fwd.fake_a.detach().to(options_.dtype))),
        options_.gan_loss);
  }
  update("D_A", loss, *opt_d_a_, reduce_d_a_.get(), scaler_d_a_);
  return loss.detach();
}

Trainer::GeneratorLosses Trainer::update_generators(const Forward& fwd) {
  const model::GanLoss kind = options_.gan_loss;
  const double lambda = options_.lambda_cycle;
  const FrozenDiscriminators frozen(model_);
  opt_g_->zero_grad();
  std::optional<model::AutocastGuard> autocast;
  autocast.emplace(device_.type(), autocast_);
  torch::Tensor g_adv = model::adversarial_loss(model_->d_b(fwd.fake_b), true, kind);
  torch::Tensor f_adv = model::adversarial_loss(model_->d_a(fwd.fake_a), true, kind);
  torch::Tensor cycle_a = model::l1_distance(model_->f(fwd.fake_b), fwd.real_a) * lambda;
  torch::Tensor cycle_b = model::l1_distance(model_->g(fwd.fake_a), fwd.real_b) * lambda;
  torch::Tensor total = g_adv + f_adv + cycle_a + cycle_b;
  torch::Tensor idt_a = torch::zeros({}, fwd.real_a.options());
  torch::Tensor idt_b = torch::zeros({}, fwd.real_a.options());
  if (identity_weight_ > 0) {
    idt_a = model::l1_distance(model_->f(fwd.real_a), fwd.real_a) * identity_weight_;
    idt_b = model::l1_distance(model_->g(fwd.real_b), fwd.real_b) * identity_weight_;
    total = total + idt_a + idt_b;
  }
  autocast.reset();  // backward and the update run outside autocast, as in PyTorch
  update("G", total, *opt_g_, reduce_g_.get(), scaler_g_);
  return {g_adv, f_adv, cycle_a, cycle_b, idt_a, idt_b, total};
}

StepLosses Trainer::step(const data::UnpairedBatch& batch) {
  step_times_ = {};
  dropped_updates_.clear();
  scaler_skipped_ = false;
  Forward fwd = forward_generators(batch);
  torch::Tensor loss_d_b = update_d_b(fwd);
  torch::Tensor loss_d_a = update_d_a(fwd);
  const GeneratorLosses g = update_generators(fwd);
  ++step_;
  // The loss tensors in kLossTerms' order, for one device-to-host copy of all values.
  std::array<torch::Tensor, kLossTerms.size()> terms;
  const auto put = [&](double StepLosses::*term, const torch::Tensor& value) {
    terms[loss_index(term)] = value.detach();
  };
  put(&StepLosses::d_a, loss_d_a);
  put(&StepLosses::d_b, loss_d_b);
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
  if (scaler_g_.options().enabled) {
    loss_scales_ = {scaler_g_.scale_value(), scaler_d_a_.scale_value(), scaler_d_b_.scale_value()};
  }
  // Under fp16 a skipped update is the scalers' business (the scale backs off after an
  // overflow) until a scale has fallen below 1: gradients that overflow even unscaled are
  // not finite, and --on-nonfinite takes over. Every rank holds the same scales.
  const bool underflowed_scale =
      scaler_skipped_ && *std::min_element(loss_scales_.begin(), loss_scales_.end()) < 1.0;
  if (scaler_skipped_ && rank() == 0 && !underflowed_scale) {
    log::info("step ", step_, ": fp16 gradients overflowed, the update(s) skipped; loss scales G ",
              loss_scales_[0], ", D_A ", loss_scales_[1], ", D_B ", loss_scales_[2]);
  }
  if (!dropped_updates_.empty() || scaler_skipped_) ++skipped_steps_;
  std::vector<std::string> dropped = dropped_updates_;
  if (underflowed_scale && dropped.empty()) dropped = {"G", "D_A", "D_B"};  // the scalers'
  nonfinite_.record(step_, dropped, losses, rank());
  return losses;
}

void Trainer::train() {
  if (!options_.resume.empty() && !resume(options_.resume)) {
    log::info("no checkpoint in ", checkpoints_.dir(), ": starting from step 0");
  }
  // Whatever each rank found, all continue from rank 0's state.
  if (!options_.resume.empty() && world() > 1) synchronize_replicas(*comm_, training_state());
  const int64_t total = total_steps();
  CG_REQUIRE(total > 0, ConfigError, "nothing to train: --steps and --epochs give 0 steps");
  // A stop requested during start-up (data loading, the first collective): no new step,
  // so nothing new to checkpoint.
  if (stop_poll_ && step_ < total && (stopped_by_ = agreed_stop_signal()) != 0) {
    if (rank() == 0)
      log::info("stop requested (signal ", stopped_by_, ") before step ", step_ + 1,
                ": no new step to checkpoint");
    return;
  }
  const int64_t first_step = step_;
  // The best checkpoint of a step is written after its regular one: a disk that fills up
  // in between leaves the regular one, from which --resume auto continues.
  std::optional<eval::EvalReport> scores;
  Progress progress("step", total, step_, std::max<int64_t>(options_.log_every, 1));
  while (step_ < total) {
    const auto start = Clock::now();
    data::UnpairedBatch batch = source_.next();
    const double data_wait = seconds_since(start);
    peak_memory_.reset();
    StepLosses l = step(batch);
    const double step_seconds = seconds_since(start);
    const int64_t peak_bytes = peak_memory_.peak_bytes();
    const int64_t images = batch.a.size(0) + batch.b.size(0);
    if (report_.has_sinks()) {
      report_.step(step_record(l, images, data_wait, step_seconds, peak_bytes));
    }
    if (rank() == 0) {
      const bool scaled = scaler_g_.options().enabled;
      progress.update(step_, world() * images,
                      progress_text(l, peak_bytes, scaled ? &loss_scales_ : nullptr));
    }
    if (options_.replica_check_every > 0 && step_ % options_.replica_check_every == 0) {
      check_replicas();
    }
    if (options_.sample_every > 0 && step_ % options_.sample_every == 0 && rank() == 0) {
      report_.samples(model_, batch, step_);
    }
    if (options_.eval_every > 0 && step_ % options_.eval_every == 0) scores = score();
    if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0 && step_ < total) {
      save_checkpoint();
    }
    if (stop_poll_ && step_ < total && (stopped_by_ = agreed_stop_signal()) != 0) {
      const std::string path = save_checkpoint();
      if (scores) save_best(*scores);
      if (rank() == 0)
        log::info("stop requested (signal ", stopped_by_, ") at step ", step_, "; checkpoint ",
                  path);
      return;
    }
    if (scores && step_ < total) {
      save_best(*scores);
      scores.reset();
    }
  }
  const std::string last = save_checkpoint();
  if (scores) save_best(*scores);
  if (rank() == 0) {
    log::info("finished ", total, " steps (", total - first_step, " in this run); checkpoint ",
              last);
  }
}

// The stop signal of any rank (the largest), the same on every rank: all of them must
// leave the loop at the same step or a collective would hang.
int Trainer::agreed_stop_signal() {
  const int local = stop_poll_();
  if (world() == 1) return local;
  int64_t agreed = 0;
  for (int64_t signal : comm_->all_gather(local)) agreed = std::max(agreed, signal);
  return static_cast<int>(agreed);
}

std::optional<eval::EvalReport> Trainer::score() {
  if (evaluator_ == nullptr) return std::nullopt;
  eval::EvalRanks ranks{rank(), world(), {}};
  if (world() > 1) {
    // The evaluation's sums and feature tables are CPU tensors; NCCL adds device ones.
    ranks.sum = [this](torch::Tensor& t) {
      if (!comm_->device().is_cpu()) {
        torch::Tensor on_device = t.to(comm_->device());
        comm_->all_reduce_sum(on_device);
        t.copy_(on_device.to(torch::kCPU));
      } else {
        comm_->all_reduce_sum(t);
      }
    };
  }
  eval::EvalReport report = evaluator_->evaluate(model_, ranks);
  if (rank() == 0) report_.eval(step_, report);
  return report;
}

std::optional<eval::EvalReport> Trainer::evaluate() {
  std::optional<eval::EvalReport> report = score();
  if (report) save_best(*report);
  return report;
}

void Trainer::save_best(const eval::EvalReport& report) {
  if (rank() != 0 || !best_.improved_by(report)) return;
  const TrainingState state = training_state();
  best_.write(report, *evaluator_, checkpoints_, state,
              checkpoint_metadata(state, options_.run_id, run_config_));
}

// What this trainer measured of the step; report_.step() adds what follows from it.
StepRecord Trainer::step_record(const StepLosses& losses, int64_t images, double data_wait,
                                double step_seconds, int64_t peak_bytes) const {
  StepRecord r;
  r.step = step_;
  r.total_steps = total_steps();
  r.images = images;
  r.losses = losses;
  r.update_skipped = !dropped_updates_.empty() || scaler_skipped_;
  if (scaler_g_.options().enabled) {
    r.loss_scale_g = loss_scales_[0];
    r.loss_scale_d_a = loss_scales_[1];
    r.loss_scale_d_b = loss_scales_[2];
  }
  r.step_seconds = step_seconds;
  r.data_wait_seconds = data_wait;
  r.allreduce_seconds = step_times_.allreduce;
  r.optimizer_seconds = step_times_.optimizer;
  r.allreduce_bytes = allreduce_bytes_per_step_;
  r.loader_queued = source_.queued();
  r.peak_memory_bytes = peak_bytes;
  return r;
}

TrainingState Trainer::training_state() {
  return {model_,  *opt_g_,   *opt_d_a_,      *opt_d_b_,           pool_a_,
          pool_b_, scaler_g_, scaler_d_a_,    scaler_d_b_,         source_,
          step_,   device_,   options_.dtype, options_.batch_size, world()};
}

std::string Trainer::save_checkpoint() {
  const auto start = Clock::now();
  if (comm_ != nullptr) comm_->barrier();
  std::string path;
  if (rank() == 0) {
    raise_test_signal("checkpoint");
    path = write_checkpoint(step_, checkpoints_, [&] {
      const TrainingState state = training_state();
      torch::serialize::OutputArchive archive;
      save_training_state(state, archive);
      return checkpoints_.save(step_, archive,
                               checkpoint_metadata(state, options_.run_id, run_config_));
    });
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  report_.checkpoint({step_, seconds_since(start), std::chrono::duration<double>(now).count()});
  return path;
}

void Trainer::check_replicas() {
  if (world() > 1) train::check_replicas(*comm_, model_, step_);
}

bool Trainer::resume(const std::string& spec) {
  const std::optional<std::string> run = resume_training_state(
      spec, checkpoints_, training_state(), {options_.run_dir, options_.resume_other_run});
  if (!run) return false;
  if (!run->empty()) options_.run_id = *run;
  best_.reset();
  if (evaluator_ != nullptr && rank() == 0) best_.read(checkpoints_, *evaluator_);
  return true;
}

}  // namespace cg::train
