#include "cli/option_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <type_traits>

#include "common/error.h"

namespace cg::cli {
namespace {

template <typename T>
T parse_value(const std::string& text, const std::string& where) {
  if constexpr (std::is_same_v<T, std::string>) {
    return text;
  } else if constexpr (std::is_same_v<T, bool>) {
    std::string v = text;
    std::transform(v.begin(), v.end(), v.begin(), ::tolower);
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    throw ConfigError(where + ": expected true or false, got '" + text + "'");
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    std::vector<int64_t> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) values.push_back(parse_value<int64_t>(item, where));
    CG_REQUIRE(!values.empty(), ConfigError, where,
               ": expected a comma-separated list of integers");
    return values;
  } else {
    size_t used = 0;
    T value{};
    try {
      if constexpr (std::is_floating_point_v<T>) {
        value = static_cast<T>(std::stod(text, &used));
      } else if constexpr (std::is_unsigned_v<T>) {
        CG_REQUIRE(text.find('-') == std::string::npos, ConfigError, where,
                   ": expected a non-negative integer, got '", text, "'");
        value = static_cast<T>(std::stoull(text, &used));
      } else {
        value = static_cast<T>(std::stoll(text, &used));
      }
    } catch (const std::logic_error&) {
      used = 0;
    }
    CG_REQUIRE(used == text.size() && !text.empty(), ConfigError, where, ": expected ",
               std::is_floating_point_v<T> ? "a number" : "an integer", ", got '", text, "'");
    if constexpr (std::is_floating_point_v<T>) {
      CG_REQUIRE(std::isfinite(value), ConfigError, where, ": expected a finite number, got '",
                 text, "'");
    }
    return value;
  }
}

template <typename Access>
OptionSpec field(std::string name, std::string help, Access access) {
  using T = std::remove_reference_t<decltype(access(std::declval<Config&>()))>;
  return {name, std::move(help),
          [access](Config& c, const std::string& v, const std::string& where) {
            access(c) = parse_value<T>(v, where);
          },
          [access](const Config& c) { return nlohmann::json(access(const_cast<Config&>(c))); },
          std::is_same_v<T, bool>};
}

// A string option that names a file or directory.
template <typename Access>
OptionSpec path(std::string name, std::string help, Access access) {
  OptionSpec spec = field(std::move(name), std::move(help), access);
  spec.is_path = true;
  return spec;
}

// --data: a DataSource, written back as the text it was given as.
OptionSpec data_source(std::string name, std::string help) {
  OptionSpec spec{std::move(name), std::move(help),
                  [](Config& c, const std::string& v, const std::string&) {
                    c.data.source = DataSource::parse(v);
                  },
                  [](const Config& c) { return nlohmann::json(c.data.source.text()); }};
  spec.is_path = true;
  return spec;
}

template <typename Enum, typename Access>
OptionSpec choice(std::string name, std::string help,
                  std::vector<std::pair<std::string, Enum>> choices, Access access) {
  std::string names;
  for (const auto& [n, e] : choices) names += (names.empty() ? "" : "|") + n;
  help += " (" + names + ")";
  return {name, help,
          [choices, names, access](Config& c, const std::string& v, const std::string& where) {
            for (const auto& [n, e] : choices) {
              if (n == v) {
                access(c) = e;
                return;
              }
            }
            throw ConfigError(where + ": expected one of " + names + ", got '" + v + "'");
          },
          [choices, access](const Config& c) {
            for (const auto& [n, e] : choices) {
              if (e == access(const_cast<Config&>(c))) return nlohmann::json(n);
            }
            return nlohmann::json();
          }};
}

std::vector<OptionSpec> build_table() {
  using model::DiscriminatorArch;
  using model::GanLoss;
  using model::GeneratorArch;
  using model::OutputActivation;
  using train::OptimizerKind;
  using train::Precision;
  // clang-format off
  return {
    path("run-dir", "run directory: config, checkpoints, samples", [](Config& c) -> auto& { return c.train.run_dir; }),
    field("steps", "training steps (0: use --epochs)", [](Config& c) -> auto& { return c.train.steps; }),
    field("epochs", "epochs over the data when --steps is 0", [](Config& c) -> auto& { return c.train.epochs; }),
    field("batch-size", "images per domain per step", [](Config& c) -> auto& { return c.train.batch_size; }),
    field("seed", "seed of weights, pools and data order", [](Config& c) -> auto& { return c.train.seed; }),
    field("device", "cpu, cuda or cuda:N", [](Config& c) -> auto& { return c.train.device; }),
    choice<Precision>("precision", "forward passes in fp32, or under autocast in bf16 or fp16 (fp16 with loss scaling); weights, gradients and optimizer state stay fp32", {{"fp32", Precision::kFp32}, {"bf16", Precision::kBf16}, {"fp16", Precision::kFp16}}, [](Config& c) -> auto& { return c.train.precision; }),
    field("threads", "LibTorch threads per rank (0: cores of the node / ranks on it)", [](Config& c) -> auto& { return c.threads; }),
    choice<parallel::Backend>("backend", "gradient all-reduce: auto (nccl on CUDA with more than one rank, else mpi), mpi or nccl", {{"auto", parallel::Backend::kAuto}, {"mpi", parallel::Backend::kMpi}, {"nccl", parallel::Backend::kNccl}}, [](Config& c) -> auto& { return c.dist.backend; }),
    field("bucket-mb", "gradient bucket size in MiB", [](Config& c) -> auto& { return c.dist.bucket_mb; }),
    field("overlap", "all-reduce gradient buckets during the backward pass", [](Config& c) -> auto& { return c.dist.overlap; }),
    field("replica-check-every", "steps between cross-rank weight checks (0: never)", [](Config& c) -> auto& { return c.train.replica_check_every; }),
    field("metrics-port", "Prometheus /metrics on this port + local rank (0: off)", [](Config& c) -> auto& { return c.metrics.port; }),
    field("metrics-bind", "address the /metrics endpoints listen on (0.0.0.0: all)", [](Config& c) -> auto& { return c.metrics.bind; }),
    field("pushgateway", "push metrics to this Prometheus Pushgateway, http://HOST:PORT", [](Config& c) -> auto& { return c.metrics.pushgateway; }),
    field("push-interval", "seconds between pushes to the Pushgateway", [](Config& c) -> auto& { return c.metrics.push_interval; }),
    field("tensorboard", "write TensorBoard event files to <run-dir>/tensorboard (rank 0)", [](Config& c) -> auto& { return c.metrics.tensorboard; }),
    path("resume", "'auto' (newest valid checkpoint of the run dir) or a checkpoint path", [](Config& c) -> auto& { return c.train.resume; }),
    data_source("data", "data set directory (made by cyclegan_data) or 'synthetic' (generated landscapes)"),
    field("image-size", "training image height and width (random crops of larger stored images)", [](Config& c) -> auto& { return c.data.image_size; }),
    field("flip", "random horizontal flips", [](Config& c) -> auto& { return c.data.flip; }),
    field("loader-threads", "background data reader threads per rank", [](Config& c) -> auto& { return c.data.loader_threads; }),
    field("prefetch", "batches read ahead per rank", [](Config& c) -> auto& { return c.data.prefetch; }),
    field("synthetic-images", "pictures per domain of the synthetic source", [](Config& c) -> auto& { return c.data.synthetic_images; }),
    field("channels-a", "channels of domain A (1 gray, 3 color)", [](Config& c) -> auto& { return c.model.channels_a; }),
    field("channels-b", "channels of domain B", [](Config& c) -> auto& { return c.model.channels_b; }),
    choice<GeneratorArch>("generator", "generator architecture", {{"unet", GeneratorArch::kUnet}, {"resnet", GeneratorArch::kResnet}}, [](Config& c) -> auto& { return c.model.generator; }),
    choice<DiscriminatorArch>("discriminator", "discriminator: seed 2x2 PatchGAN or 70x70 PatchGAN", {{"seed", DiscriminatorArch::kSeed}, {"patch", DiscriminatorArch::kPatch}}, [](Config& c) -> auto& { return c.model.discriminator; }),
    choice<OutputActivation>("output-activation", "generator output and image range", {{"sigmoid", OutputActivation::kSigmoid}, {"tanh", OutputActivation::kTanh}}, [](Config& c) -> auto& { return c.model.output_activation; }),
    field("unet-encoder-filters", "U-Net encoder filters, comma-separated", [](Config& c) -> auto& { return c.model.unet_encoder_filters; }),
    field("unet-decoder-filters", "U-Net decoder filters, one fewer", [](Config& c) -> auto& { return c.model.unet_decoder_filters; }),
    field("unet-kernel-size", "U-Net kernel size", [](Config& c) -> auto& { return c.model.unet_kernel_size; }),
    choice<model::UnetNorm>("unet-norm", "U-Net normalisation before each activation: instance (the seed's; each map of each image to zero mean and unit variance, the input image's included) or none (the maps keep their magnitudes, so the input's brightness and contrast reach the output)", {{"instance", model::UnetNorm::kInstance}, {"none", model::UnetNorm::kNone}}, [](Config& c) -> auto& { return c.model.unet_norm; }),
    choice<model::Upsample>("upsample", "how both generators' decoders double the size: transposed (stride-2 transposed convolution, the seed's and the paper's; both presets), or nearest/bilinear (resize x2, then a stride-1 convolution: 3x3 reflection-padded in the ResNet, --unet-kernel-size zero-padded in the U-Net; no checkerboard artifacts)", {{"transposed", model::Upsample::kTransposed}, {"nearest", model::Upsample::kNearest}, {"bilinear", model::Upsample::kBilinear}}, [](Config& c) -> auto& { return c.model.upsample; }),
    field("ngf", "ResNet generator base filters", [](Config& c) -> auto& { return c.model.ngf; }),
    field("n-blocks", "ResNet generator residual blocks", [](Config& c) -> auto& { return c.model.n_blocks; }),
    field("seed-d-filters", "seed discriminator filters, comma-separated", [](Config& c) -> auto& { return c.model.seed_d_filters; }),
    field("ndf", "PatchGAN base filters", [](Config& c) -> auto& { return c.model.ndf; }),
    field("n-layers", "PatchGAN layers (3: 70x70)", [](Config& c) -> auto& { return c.model.n_layers; }),
    field("checkpoint-activations", "generators recompute their blocks' activations in the backward pass instead of keeping them: less memory, one more generator forward per step, same numbers", [](Config& c) -> auto& { return c.model.checkpoint_activations; }),
    choice<GanLoss>("gan-loss", "adversarial loss", {{"lsgan", GanLoss::kLeastSquares}, {"vanilla", GanLoss::kVanilla}}, [](Config& c) -> auto& { return c.train.gan_loss; }),
    field("lambda-cycle", "weight of each L1 cycle loss", [](Config& c) -> auto& { return c.train.lambda_cycle; }),
    field("identity-weight", "weight of each L1 identity loss (0: off)", [](Config& c) -> auto& { return c.train.identity_weight; }),
    field("identity-relative", "identity weight is multiplied by --lambda-cycle", [](Config& c) -> auto& { return c.train.identity_relative; }),
    field("pool-size", "image history pool per domain (0: off)", [](Config& c) -> auto& { return c.train.pool_size; }),
    choice<OptimizerKind>("optimizer", "optimizer of all four networks", {{"adam", OptimizerKind::kAdam}, {"rmsprop", OptimizerKind::kRmsprop}}, [](Config& c) -> auto& { return c.train.optimizer; }),
    field("lr-g", "learning rate of G and F", [](Config& c) -> auto& { return c.train.lr_g; }),
    field("lr-d", "learning rate of D_A and D_B", [](Config& c) -> auto& { return c.train.lr_d; }),
    field("beta1", "Adam beta1", [](Config& c) -> auto& { return c.train.beta1; }),
    field("beta2", "Adam beta2", [](Config& c) -> auto& { return c.train.beta2; }),
    field("rmsprop-alpha", "RMSprop smoothing constant", [](Config& c) -> auto& { return c.train.rmsprop_alpha; }),
    field("rmsprop-eps", "RMSprop epsilon", [](Config& c) -> auto& { return c.train.rmsprop_eps; }),
    field("lr-decay-start", "fraction of the steps after which the LR decays linearly to 0", [](Config& c) -> auto& { return c.train.lr_decay_start; }),
    field("log-every", "steps between progress lines", [](Config& c) -> auto& { return c.train.log_every; }),
    field("sample-every", "steps between sample grids (0: never)", [](Config& c) -> auto& { return c.train.sample_every; }),
    field("eval-every", "steps between evaluations on the data set's test split (0: never)", [](Config& c) -> auto& { return c.train.eval_every; }),
    field("eval-batch-size", "images per translation and Inception pass of an evaluation (bounds its memory)", [](Config& c) -> auto& { return c.eval.batch_size; }),
    field("fid-images", "images per set for FID/KID at each evaluation, spread over each split (-1: the whole test split; 0: no FID/KID)", [](Config& c) -> auto& { return c.eval.fid_images; }),
    path("inception", "FID/KID Inception weights (TorchScript; default \"\": $CYCLEGAN_INCEPTION or where scripts/setup puts them, and FID/KID are unavailable when that is missing; a named file must be the network)", [](Config& c) -> auto& { return c.eval.inception; }),
    choice<eval::Metric>("best-metric", "evaluation score the best checkpoint (checkpoints/ckpt_best.pt) follows", {{"fid-AtoB", eval::Metric::kFidAtoB}, {"fid-BtoA", eval::Metric::kFidBtoA}, {"kid-AtoB", eval::Metric::kKidAtoB}, {"kid-BtoA", eval::Metric::kKidBtoA}}, [](Config& c) -> auto& { return c.train.best_metric; }),
    choice<train::NonFinitePolicy>("on-nonfinite", "a step with a non-finite loss or gradient is dropped on every rank; then: stop the run after --nonfinite-limit in a row, or skip and go on", {{"stop", train::NonFinitePolicy::kStop}, {"skip", train::NonFinitePolicy::kSkip}}, [](Config& c) -> auto& { return c.train.on_nonfinite; }),
    field("nonfinite-limit", "consecutive non-finite steps that stop the run (--on-nonfinite stop)", [](Config& c) -> auto& { return c.train.nonfinite_limit; }),
    field("checkpoint-every", "steps between checkpoints (0: only at the end)", [](Config& c) -> auto& { return c.train.checkpoint_every; }),
    field("keep-checkpoints", "newest checkpoints kept", [](Config& c) -> auto& { return c.train.keep_checkpoints; }),
  };
  // clang-format on
}

}  // namespace

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> table = build_table();
  return table;
}

}  // namespace cg::cli
