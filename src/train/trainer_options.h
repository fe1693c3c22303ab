#pragma once
// Everything that shapes training, with the seed's defaults. The presets in src/cli set
// the paper's values; every field can be overridden by a flag or a config file.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "eval/eval_report.h"
#include "model/losses.h"

namespace cg::train {

enum class OptimizerKind { kAdam, kRmsprop };

/// What a step with a non-finite loss or gradient does. Either way its updates are dropped
/// on every rank (the gradients are compared after the all-reduce, so all ranks agree).
enum class NonFinitePolicy {
  kStop,  ///< after nonfinite_limit such steps in a row, the run stops with an error
  kSkip,  ///< training goes on; the dropped steps are counted
};

/// The precision of the forward passes. Parameters, gradients, optimizer state and losses
/// stay float32 (master weights) in every mode.
enum class Precision {
  kFp32,  ///< no autocast
  kBf16,  ///< forwards under autocast to bfloat16
  kFp16,  ///< forwards under autocast to float16, losses scaled per optimizer (GradScaler)
};

struct TrainerOptions {
  std::string run_dir = "runs/cifar-colorize";  ///< config, checkpoints, samples, log
  int64_t steps = 0;                            ///< total training steps; 0: derive from `epochs`
  int64_t epochs = 1;                           ///< epochs of the data source when `steps` is 0
  int64_t batch_size = 32;                      ///< images per domain per step (per rank)
  uint64_t seed = 0;                            ///< weights, pools and data order derive from it
  std::string device = "cpu";                   ///< "cpu", "cuda" or "cuda:N"
  /// Parameter and compute dtype. Tests use kDouble to compare runs that differ only in
  /// rounding (1 rank vs N): in float32, Adam and RMSprop scale the rounding noise of
  /// near-zero gradients up to full-size steps.
  torch::Dtype dtype = torch::kFloat;
  model::GanLoss gan_loss = model::GanLoss::kLeastSquares;
  double lambda_cycle = 10.0;      ///< weight of each L1 cycle term
  double identity_weight = 0.5;    ///< weight of each L1 identity term (0: off)
  bool identity_relative = false;  ///< identity weight is identity_weight * lambda_cycle
  int64_t pool_size = 0;           ///< image history pool per domain (0: off; paper 50)
  OptimizerKind optimizer = OptimizerKind::kRmsprop;
  double lr_g = 1e-4;                 ///< learning rate of G and F
  double lr_d = 2e-4;                 ///< learning rate of D_A and D_B
  double beta1 = 0.5, beta2 = 0.999;  ///< Adam betas
  double rmsprop_alpha = 0.9;         ///< RMSprop smoothing (Keras' rho)
  double rmsprop_eps = 1e-7;          ///< RMSprop epsilon (Keras' default)
  double lr_decay_start = 1.0;        ///< fraction of the steps after which the LR decays to 0
  int64_t log_every = 20;             ///< steps between progress lines (non-TTY)
  int64_t sample_every = 500;         ///< steps between sample grids (0: never)
  int64_t checkpoint_every = 1000;    ///< steps between checkpoints (0: only at the end)
  int64_t keep_checkpoints = 3;       ///< newest checkpoints kept on disk
  int64_t replica_check_every = 100;  ///< steps between cross-rank weight checks (0: never)
  int64_t eval_every =
      0;  ///< steps between evaluations on the test split (0: never; needs an evaluator)
  /// Evaluation score (lower is better) whose best value so far keeps its checkpoint as
  /// checkpoints/ckpt_best.pt, outside the rotation. Needs FID/KID.
  eval::Metric best_metric = eval::Metric::kFidAtoB;
  std::string resume;  ///< "" (fresh run), "auto" (newest valid) or a path
  /// Identity of the run, recorded in every checkpoint: a resume continues the run of the
  /// checkpoint it loads, and refuses one of another run unless resume_other_run is set.
  /// "": a fresh run gets none (tests); cyclegan_dist makes one per fresh run.
  std::string run_id;
  bool resume_other_run = false;  ///< --resume PATH may load a checkpoint of another run
  Precision precision = Precision::kFp32;
  /// fp16: the loss scale each optimizer's scaler starts from (torch.amp.GradScaler's
  /// init_scale); it backs off on overflow and grows after 2000 good steps.
  double loss_scale_init = 65536.0;
  NonFinitePolicy on_nonfinite = NonFinitePolicy::kStop;
  int64_t nonfinite_limit = 3;  ///< consecutive non-finite steps that stop the run (kStop)
};

}  // namespace cg::train
