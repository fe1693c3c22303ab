#include <gtest/gtest.h>

#include "cli/command_line.h"
#include "common/error.h"
#include "model/cycle_gan.h"
#include "parallel/backend.h"
#include "parse_helpers.h"
#include "train/trainer_options.h"

// The options that shape the model and where it runs: how a checkpoint's stored config
// describes its model, the upsampling, precision and activation checkpointing, and the
// backend and GPU each rank picks.
namespace cg::cli {
namespace {
using namespace cg::cli::testing;  // NOLINT(google-build-using-namespace)

TEST(CommandLine, ACheckpointsConfigDescribesItsModelForInfer) {
  const Config c =
      parse({"--preset", "paper-256", "--ngf", "8", "--n-blocks", "2", "--channels-a", "1"});
  const infer::ModelDescription d = model_description(to_json(c), "checkpoint x.pt: config");
  EXPECT_EQ(d.preset, "paper-256");
  EXPECT_EQ(d.model.generator, c.model.generator);
  EXPECT_EQ(d.model.ngf, 8);
  EXPECT_EQ(d.model.n_blocks, 2);
  EXPECT_EQ(d.model.channels_a, 1);
  EXPECT_EQ(d.model.channels_b, c.model.channels_b);
  nlohmann::json stored = to_json(c);
  stored["no-such-option"] = 1;
  try {
    model_description(stored, "checkpoint x.pt: config");
    ADD_FAILURE() << "an unknown key was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("checkpoint x.pt: config: unknown option 'no-such-option'"),
        std::string::npos)
        << e.what();
  }
}

TEST(CommandLine, NcclNeedsACudaDeviceAndAutoPicksTheBackendByDevice) {
  using parallel::Backend;
  EXPECT_NE(error_of({"--backend", "nccl"}).find("--backend nccl needs --device cuda"),
            std::string::npos);
  EXPECT_NE(error_of({"--backend", "nccl", "--device", "cpu"}).find("--backend nccl"),
            std::string::npos);
  EXPECT_NE(
      error_of({"--backend", "gloo"}).find("--backend: expected one of auto|mpi|nccl, got 'gloo'"),
      std::string::npos)
      << error_of({"--backend", "gloo"});
  // Which GPUs are visible is the job's check, not the parser's.
  auto resolve = [](const Config& c, int world) {
    return parallel::resolve_backend(c.dist.backend, torch::Device(c.train.device), world);
  };
  const Config cuda = parse({"--device", "cuda"});
  EXPECT_EQ(parse({}).dist.backend, Backend::kAuto);
  EXPECT_EQ(resolve(parse({}), 4), Backend::kMpi);
  EXPECT_EQ(resolve(parse({"--backend", "mpi"}), 4), Backend::kMpi);
  // One rank reduces nothing: auto sets up no NCCL communicator for it.
  EXPECT_EQ(resolve(cuda, 1), Backend::kMpi);
  if (parallel::backend_built(Backend::kNccl)) {
    EXPECT_EQ(resolve(cuda, 2), Backend::kNccl);
    EXPECT_EQ(resolve(parse({"--backend", "nccl", "--device", "cuda:1"}), 1), Backend::kNccl);
  } else {
    try {
      resolve(cuda, 2);
      ADD_FAILURE() << "nccl accepted in a build without CUDA/NCCL";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--backend nccl: this build has no CUDA/NCCL"),
                std::string::npos)
          << e.what();
    }
  }
  const Config mpi_on_cuda = parse({"--backend", "mpi", "--device", "cuda"});
  EXPECT_EQ(resolve(mpi_on_cuda, 1), Backend::kMpi);
  try {
    resolve(mpi_on_cuda, 2);
    ADD_FAILURE() << "--backend mpi accepted for CUDA tensors on 2 ranks";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend mpi reduces CPU tensors"), std::string::npos)
        << e.what();
  }
  // The backend is kept as typed in config.json.
  EXPECT_EQ(to_json(parse({"--backend", "mpi"}))["backend"], "mpi");
  EXPECT_EQ(to_json(parse({}))["backend"], "auto");
}

TEST(CommandLine, EachRankFindsItsGpuByLocalRankOrTheOnlyOneItSees) {
  // Every rank sees all of the node's GPUs: its local rank picks one.
  EXPECT_EQ(parallel::cuda_index_for_rank(0, 8), 0);
  EXPECT_EQ(parallel::cuda_index_for_rank(5, 8), 5);
  // CUDA_VISIBLE_DEVICES gives each rank one GPU: it is device 0 of that rank.
  EXPECT_EQ(parallel::cuda_index_for_rank(3, 1), 0);
  // Fewer GPUs than ranks (and more than one visible): refused, naming the fix.
  try {
    parallel::cuda_index_for_rank(2, 2);
    ADD_FAILURE() << "local rank 2 given one of 2 GPUs";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("local rank 2 sees 2 GPUs"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parallel::cuda_index_for_rank(0, 0), ConfigError);
}

TEST(CommandLine, PrecisionAndActivationCheckpointingDefaultOffAndParse) {
  const Config plain = parse({});
  EXPECT_EQ(plain.train.precision, train::Precision::kFp32);
  EXPECT_FALSE(plain.model.checkpoint_activations);
  EXPECT_EQ(parse({"--precision", "bf16"}).train.precision, train::Precision::kBf16);
  EXPECT_EQ(parse({"--precision", "fp16"}).train.precision, train::Precision::kFp16);
  EXPECT_EQ(parse({"--precision", "fp16", "--precision", "fp32"}).train.precision,
            train::Precision::kFp32);
  EXPECT_TRUE(parse({"--checkpoint-activations", "true"}).model.checkpoint_activations);
  EXPECT_FALSE(parse({"--checkpoint-activations", "off"}).model.checkpoint_activations);
  const Config bare = parse({"--checkpoint-activations", "--precision", "bf16"});
  EXPECT_TRUE(bare.model.checkpoint_activations);
  EXPECT_EQ(bare.train.precision, train::Precision::kBf16);
  EXPECT_TRUE(
      parse({"--precision", "bf16", "--checkpoint-activations"}).model.checkpoint_activations);
  const std::string file =
      write_config("precision", R"({"precision": "bf16", "checkpoint-activations": true})");
  const Config from_file = parse({"--config", file});
  EXPECT_EQ(from_file.train.precision, train::Precision::kBf16);
  EXPECT_TRUE(from_file.model.checkpoint_activations);
  const nlohmann::json resolved = to_json(parse({"--precision", "fp16"}));
  EXPECT_EQ(resolved["precision"], "fp16");
  EXPECT_EQ(resolved["checkpoint-activations"], false);
}

TEST(CommandLine, PrecisionAndActivationCheckpointingRoundTripThroughTheResolvedConfig) {
  const Config c =
      parse({"--preset", "paper-256", "--precision", "bf16", "--checkpoint-activations", "true"});
  const Config back = read_back("precision_roundtrip", c);
  EXPECT_EQ(back.train.precision, train::Precision::kBf16);
  EXPECT_TRUE(back.model.checkpoint_activations);
  EXPECT_EQ(to_json(back), to_json(c));
}

TEST(CommandLine, BadPrecisionOrCheckpointActivationsGetOneErrorNamingTheOption) {
  std::string error = error_of({"--precision", "fp8"});
  EXPECT_NE(error.find("--precision"), std::string::npos) << error;
  EXPECT_NE(error.find("fp32|bf16|fp16"), std::string::npos) << error;
  EXPECT_NE(error.find("'fp8'"), std::string::npos) << error;
  EXPECT_NE(error_of({"--precision", "FP16"}).find("--precision"), std::string::npos);
  error = error_of({"--checkpoint-activations", "maybe"});
  EXPECT_NE(error.find("--checkpoint-activations"), std::string::npos) << error;
  EXPECT_NE(error.find("true or false"), std::string::npos) << error;
  const std::string file = write_config("bad_precision", R"({"precision": "half"})");
  error = error_of({"--config", file});
  EXPECT_NE(error.find("option 'precision'"), std::string::npos) << error;
  EXPECT_NE(error.find("fp32|bf16|fp16"), std::string::npos) << error;
}

TEST(CommandLine, ACheckpointOfAMixedPrecisionRunDescribesTheSameModel) {
  const Config plain = parse({"--preset", "paper-256", "--ngf", "8", "--n-blocks", "2"});
  const Config mixed = parse({"--preset", "paper-256", "--ngf", "8", "--n-blocks", "2",
                              "--precision", "fp16", "--checkpoint-activations", "true"});
  const infer::ModelDescription d = model_description(to_json(mixed), "checkpoint x.pt: config");
  EXPECT_EQ(d.preset, "paper-256");
  EXPECT_EQ(d.model.ngf, 8);
  EXPECT_EQ(d.model.n_blocks, 2);
  EXPECT_TRUE(d.model.checkpoint_activations);
  // Neither option changes the weights: the same architecture, parameter for parameter.
  auto names = [](const model::CycleGanOptions& options) {
    torch::manual_seed(0);
    model::CycleGan net(options);
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
    for (const auto& p : net->named_parameters())
      shapes.emplace_back(p.key(), p.value().sizes().vec());
    return shapes;
  };
  EXPECT_EQ(names(d.model), names(plain.model));
  // A checkpoint written before these options existed holds neither key: the defaults.
  nlohmann::json old = to_json(plain);
  old.erase("precision");
  old.erase("checkpoint-activations");
  const infer::ModelDescription before = model_description(old, "checkpoint old.pt: config");
  EXPECT_FALSE(before.model.checkpoint_activations);
  EXPECT_EQ(from_json(old, "checkpoint old.pt: config").train.precision, train::Precision::kFp32);
}

TEST(CommandLine, UpsampleDefaultsToTransposedInBothPresetsAndParses) {
  EXPECT_EQ(parse({}).model.upsample, model::Upsample::kTransposed);
  EXPECT_EQ(parse({"--preset", "paper-256"}).model.upsample, model::Upsample::kTransposed);
  EXPECT_EQ(parse({"--upsample", "nearest"}).model.upsample, model::Upsample::kNearest);
  const Config bilinear = parse({"--preset", "paper-256", "--upsample", "bilinear"});
  EXPECT_EQ(bilinear.model.upsample, model::Upsample::kBilinear);
  EXPECT_EQ(to_json(parse({}))["upsample"], "transposed");
  EXPECT_EQ(to_json(bilinear)["upsample"], "bilinear");
  EXPECT_EQ(to_json(read_back("upsample_roundtrip", bilinear)), to_json(bilinear));
  EXPECT_EQ(one_line_error_of({"--upsample", "pixelshuffle"}),
            "--upsample: expected one of transposed|nearest|bilinear, got 'pixelshuffle'");
  // The U-Net's resize convolution keeps the size only with an odd kernel.
  const std::string even = one_line_error_of({"--upsample", "nearest", "--unet-kernel-size", "4"});
  EXPECT_NE(even.find("--upsample nearest needs an odd --unet-kernel-size"), std::string::npos)
      << even;
  EXPECT_EQ(one_line_error_of({"--unet-kernel-size", "4"}), "");
}

TEST(CommandLine, ACheckpointWithoutUpsampleDescribesATransposedModel) {
  const Config resized =
      parse({"--preset", "paper-256", "--ngf", "8", "--n-blocks", "2", "--upsample", "nearest"});
  const infer::ModelDescription d = model_description(to_json(resized), "checkpoint x.pt: config");
  EXPECT_EQ(d.model.upsample, model::Upsample::kNearest);
  // Written before --upsample existed: no key, and the weights are a transposed model's.
  nlohmann::json old = to_json(resized);
  old.erase("upsample");
  EXPECT_EQ(model_description(old, "checkpoint old.pt: config").model.upsample,
            model::Upsample::kTransposed);
  nlohmann::json old_seed = to_json(parse({}));
  old_seed.erase("upsample");
  EXPECT_EQ(model_description(old_seed, "checkpoint old.pt: config").model.upsample,
            model::Upsample::kTransposed);
}

TEST(CommandLine, UnetNormDefaultsToInstanceAndNoneIsOnlyForTheUnet) {
  EXPECT_EQ(parse({}).model.unet_norm, model::UnetNorm::kInstance);
  const Config none = parse({"--unet-norm", "none", "--upsample", "bilinear"});
  EXPECT_EQ(none.model.unet_norm, model::UnetNorm::kNone);
  EXPECT_EQ(to_json(parse({}))["unet-norm"], "instance");
  EXPECT_EQ(to_json(none)["unet-norm"], "none");
  EXPECT_EQ(to_json(read_back("unet_norm_roundtrip", none)), to_json(none));
  EXPECT_EQ(one_line_error_of({"--unet-norm", "batch"}),
            "--unet-norm: expected one of instance|none, got 'batch'");
  EXPECT_EQ(one_line_error_of({"--preset", "paper-256", "--unet-norm", "none"}),
            "--unet-norm none: only the U-Net generator has it, not the resnet generator");
  // A checkpoint written before --unet-norm existed holds a normalised U-Net's weights.
  nlohmann::json old = to_json(none);
  EXPECT_EQ(model_description(old, "checkpoint x.pt: config").model.unet_norm,
            model::UnetNorm::kNone);
  old.erase("unet-norm");
  EXPECT_EQ(model_description(old, "checkpoint old.pt: config").model.unet_norm,
            model::UnetNorm::kInstance);
}

}  // namespace
}  // namespace cg::cli
