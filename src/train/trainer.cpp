#include "train/trainer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <limits>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/stop_request.h"
#include "train/lr_schedule.h"
#include "train/replicas.h"

namespace cg::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Trainer::Trainer(TrainerOptions options, model::CycleGanOptions model_options,
                 data::UnpairedSource& source, nlohmann::json run_config,
                 parallel::Communicator* comm, parallel::ReducerOptions reducer_options)
    : options_(std::move(options)),
      source_(source),
      run_config_(std::move(run_config)),
      comm_(comm),
      cycle_gan_step_(options_, model_options, comm, reducer_options),
      checkpoints_((std::filesystem::path(options_.run_dir) / "checkpoints").string(),
                   options_.keep_checkpoints),
      nonfinite_(options_.on_nonfinite, options_.nonfinite_limit),
      inject_nonfinite_(injected_nonfinite_steps(rank())),
      peak_memory_(cycle_gan_step_.device()),
      report_(options_),
      best_(options_.best_metric) {
  CG_REQUIRE(source.channels_a() == model_options.channels_a &&
                 source.channels_b() == model_options.channels_b,
             ConfigError, "the data has ", source.channels_a(), " channels in A and ",
             source.channels_b(), " in B, the model expects ", model_options.channels_a, " and ",
             model_options.channels_b);
  if (world() > 1) synchronize_replicas(*comm_, training_state());
  // The injected fault acts on D_B's gradients, as a NaN loss of D_B would: every one
  // becomes NaN, so the step drops (or its fp16 scaler skips) D_B's update, and
  // run_step() reports the loss as NaN. D_B has gradients only in its own update.
  if (!inject_nonfinite_.empty()) {
    for (const torch::Tensor& p : model()->d_b_parameters()) {
      p.register_hook([now = inject_now_](const torch::Tensor& grad) {
        return *now ? grad * std::numeric_limits<double>::quiet_NaN() : torch::Tensor();
      });
    }
  }
}

int64_t Trainer::total_steps() const {
  return options_.steps > 0 ? options_.steps : options_.epochs * source_.batches_per_epoch();
}

StepLosses Trainer::step(const data::UnpairedBatch& batch) { return run_step(batch).losses; }

StepResult Trainer::run_step(const data::UnpairedBatch& batch) {
  cycle_gan_step_.set_learning_rate_factor(
      lr_factor(step_, total_steps(), options_.lr_decay_start));
  *inject_now_ = inject_nonfinite_.count(step_ + 1) != 0;
  StepResult result = cycle_gan_step_.step(batch);
  if (*inject_now_) result.losses.d_b = std::numeric_limits<double>::quiet_NaN();
  *inject_now_ = false;
  ++step_;
  account_nonfinite(result);
  return result;
}

// Under fp16 a skipped update is the scalers' business (the scale backs off after an
// overflow) until a scale has fallen below 1: gradients that overflow even unscaled are
// not finite, and --on-nonfinite takes over. Every rank holds the same scales.
void Trainer::account_nonfinite(const StepResult& result) {
  const std::array<double, 3>& scales = result.loss_scales;
  const bool underflowed_scale =
      result.scaler_skipped && *std::min_element(scales.begin(), scales.end()) < 1.0;
  if (result.scaler_skipped && rank() == 0 && !underflowed_scale) {
    log::info("step ", step_, ": fp16 gradients overflowed, the update(s) skipped; loss scales G ",
              scales[0], ", D_A ", scales[1], ", D_B ", scales[2]);
  }
  std::vector<std::string> dropped = result.dropped_updates;
  if (underflowed_scale && dropped.empty()) dropped = {"G", "D_A", "D_B"};  // the scalers'
  nonfinite_.record(step_, dropped, result.losses, rank());
}

void Trainer::train() {
  if (!options_.resume.empty() && !resume(options_.resume)) {
    log::info("no checkpoint in ", checkpoints_.dir(), ": starting from step 0");
  }
  // Whatever each rank found, all continue from rank 0's state.
  if (!options_.resume.empty() && world() > 1) synchronize_replicas(*comm_, training_state());
  colour_gain_ = {-1, 1.0};  // the weights may be new at a step number seen before
  if (start_hook_) start_hook_();
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
    const StepResult result = run_step(batch);
    const double step_seconds = seconds_since(start);
    const int64_t peak_bytes = peak_memory_.peak_bytes();
    const int64_t images = batch.a.size(0) + batch.b.size(0);
    if (report_.has_sinks()) {
      StepContext context;
      context.step = step_;
      context.total_steps = total;
      context.images = images;
      context.step_seconds = step_seconds;
      context.data_wait_seconds = data_wait;
      context.loader_queued = source_.queued();
      context.peak_memory_bytes = peak_bytes;
      report_.step(result, context);
    }
    if (rank() == 0) {
      const bool scaled = scaler_g().options().enabled;
      progress.update(
          step_, world() * images,
          progress_text(result.losses, peak_bytes, scaled ? &result.loss_scales : nullptr));
    }
    if (options_.replica_check_every > 0 && step_ % options_.replica_check_every == 0) {
      check_replicas();
    }
    if (options_.sample_every > 0 && step_ % options_.sample_every == 0 && rank() == 0) {
      report_.samples(model(), batch, step_, colour_gain());
    }
    if (options_.eval_every > 0 && step_ % options_.eval_every == 0) scores = score();
    if (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0 && step_ < total) {
      save_checkpoint();
    }
    if (stop_poll_ && step_ < total && (stopped_by_ = agreed_stop_signal()) != 0) {
      const std::string path = save_checkpoint();
      if (scores) save_best(*scores);
      if (rank() == 0) {
        log::info("stop requested (signal ", stopped_by_, ") at step ", step_, "; checkpoint ",
                  path);
        report_.eval_summary(options_.best_metric, best_.best(), checkpoints_.best_path());
      }
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
    report_.eval_summary(options_.best_metric, best_.best(), checkpoints_.best_path());
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
  eval::EvalReport report = evaluator_->evaluate(model(), ranks, colour_gain());
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
  best_.write(report, *evaluator_, checkpoints_, state, metadata(state));
}

double Trainer::colour_gain() {
  if (colour_match_ == nullptr) return 1.0;
  if (colour_gain_.first != step_) colour_gain_ = {step_, colour_match_->gain(model())};
  return colour_gain_.second;
}

nlohmann::json Trainer::metadata(const TrainingState& state) {
  nlohmann::json out = checkpoint_metadata(state, options_.run_id, run_config_);
  if (colour_match_ != nullptr) out["colour_gain"] = colour_gain();
  return out;
}

TrainingState Trainer::training_state() {
  CycleGanStep& s = cycle_gan_step_;
  return {s.model(),  s.optimizer_g(), s.optimizer_d_a(), s.optimizer_d_b(),   s.pool_a(),
          s.pool_b(), s.scaler_g(),    s.scaler_d_a(),    s.scaler_d_b(),      source_,
          step_,      s.device(),      options_.dtype,    options_.batch_size, world()};
}

std::string Trainer::save_checkpoint() {
  const auto start = Clock::now();
  if (comm_ != nullptr) comm_->barrier();
  std::string path;
  if (rank() == 0) {
    raise_test_signal("checkpoint");
    colour_gain();  // before the write: a failing forward pass is not a failed write
    path = write_checkpoint(step_, checkpoints_, [&] {
      const TrainingState state = training_state();
      torch::serialize::OutputArchive archive;
      save_training_state(state, archive);
      return checkpoints_.save(step_, archive, metadata(state));
    });
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  report_.checkpoint({step_, seconds_since(start), std::chrono::duration<double>(now).count()});
  return path;
}

void Trainer::check_replicas() {
  if (world() > 1) train::check_replicas(*comm_, model(), step_);
}

bool Trainer::resume(const std::string& spec) {
  const std::optional<std::string> run = resume_training_state(
      spec, checkpoints_, training_state(), {options_.run_dir, options_.resume_other_run});
  if (!run) return false;
  if (!run->empty()) options_.run_id = *run;
  colour_gain_ = {-1, 1.0};  // new weights, maybe at a step number seen before
  best_.reset();
  if (evaluator_ != nullptr && rank() == 0) best_.read(checkpoints_, *evaluator_);
  return true;
}

}  // namespace cg::train
