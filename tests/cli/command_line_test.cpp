#include "cli/command_line.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "common/file_util.h"
#include "model/cycle_gan.h"
#include "train/trainer_options.h"

namespace cg::cli {
namespace {

// Parses `args` as given (no --data added).
Config parse_exactly(std::vector<std::string> args) {
  args.insert(args.begin(), "cyclegan_dist");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  auto config = parse_command_line(static_cast<int>(argv.size()), argv.data());
  if (!config) throw std::runtime_error("help was printed");
  return *config;
}

// Parses `args` after `--data synthetic` (a later --data wins).
Config parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", "synthetic"});
  return parse_exactly(std::move(args));
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string write_config(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("cyclegan_cli_" + name + ".json");
  write_file_atomic(path.string(), text);
  return path.string();
}

TEST(CommandLine, PresetsSetTheSeedAndThePaperDefaults) {
  Config seed = parse({});
  EXPECT_EQ(seed.preset, "cifar-colorize");
  EXPECT_EQ(seed.model.channels_a, 1);
  EXPECT_EQ(seed.model.generator, model::GeneratorArch::kUnet);
  EXPECT_EQ(seed.train.optimizer, train::OptimizerKind::kRmsprop);
  EXPECT_EQ(seed.train.pool_size, 0);
  Config paper = parse({"--preset", "paper-256"});
  EXPECT_EQ(paper.model.generator, model::GeneratorArch::kResnet);
  EXPECT_EQ(paper.model.n_blocks, 9);
  EXPECT_EQ(paper.train.pool_size, 50);
  EXPECT_EQ(paper.train.batch_size, 1);
  EXPECT_DOUBLE_EQ(paper.train.lr_g, 2e-4);
  EXPECT_TRUE(paper.train.identity_relative);
  EXPECT_EQ(paper.data.image_size, 256);
}

TEST(CommandLine, DataIsRequiredAndMustBeADirectoryOrSynthetic) {
  try {
    parse_exactly({});
    FAIL() << "no --data accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--data is required"), std::string::npos) << e.what();
  }
  EXPECT_NE(error_of({"--data", "/no/such/dataset"}).find("/no/such/dataset is not a directory"),
            std::string::npos);
  EXPECT_EQ(parse({"--data", std::filesystem::temp_directory_path().string()}).data.source,
            std::filesystem::temp_directory_path().string());
  EXPECT_TRUE(parse({"--preset", "paper-256"}).data.flip);
  EXPECT_FALSE(parse({}).data.flip);
}

TEST(CommandLine, FlagsOverrideTheConfigFileWhichOverridesThePreset) {
  std::string file =
      write_config("layers", R"({"preset": "paper-256", "batch-size": 4, "lr-g": 0.001,
                                              "unet-encoder-filters": [32, 64, 128, 256]})");
  Config c = parse({"--config", file, "--batch-size", "8"});
  EXPECT_EQ(c.preset, "paper-256");
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_DOUBLE_EQ(c.train.lr_g, 0.001);
  EXPECT_EQ(c.model.unet_encoder_filters, (std::vector<int64_t>{32, 64, 128, 256}));
  EXPECT_EQ(c.train.pool_size, 50);
}

TEST(CommandLine, ARepeatedFlagTakesItsLastValue) {
  Config c = parse({"--steps", "300", "--batch-size", "16", "--steps", "20"});
  EXPECT_EQ(c.train.steps, 20);
  EXPECT_EQ(c.train.batch_size, 16);
}

TEST(CommandLine, ResolvedConfigReadsBackToTheSameConfig) {
  Config c = parse({"--preset", "paper-256", "--steps", "7", "--gan-loss", "vanilla"});
  std::string file = write_config("roundtrip", to_json(c).dump());
  EXPECT_EQ(to_json(parse({"--config", file})), to_json(c));
}

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

TEST(CommandLine, BadInputGetsOneErrorNamingTheCulprit) {
  EXPECT_NE(error_of({"--batch-sise", "4"}).find("--batch-sise"), std::string::npos);
  EXPECT_NE(error_of({"--batch-size", "four"}).find("--batch-size"), std::string::npos);
  EXPECT_NE(error_of({"--lr-g", "1e-4x"}).find("--lr-g"), std::string::npos);
  EXPECT_NE(error_of({"--optimizer", "sgd"}).find("adam|rmsprop"), std::string::npos);
  EXPECT_NE(error_of({"--preset", "paper"}).find("cifar-colorize, paper-256"), std::string::npos);
  EXPECT_NE(error_of({"--batch-size", "0"}).find("--batch-size"), std::string::npos);
  EXPECT_NE(error_of({"--image-size", "30"}).find("--image-size"), std::string::npos);
  EXPECT_NE(error_of({"--device", "gpu"}).find("--device"), std::string::npos);
  EXPECT_NE(error_of({"--resume", "/nonexistent.pt"}).find("/nonexistent.pt"), std::string::npos);
  EXPECT_NE(error_of({"--seed", "-1"}).find("--seed"), std::string::npos);
}

TEST(CommandLine, FloatOptionsMustBeFiniteAndInRange) {
  for (const std::string value : {"inf", "-inf", "nan", "1e400"}) {
    const std::string error = error_of({"--lr-d", value});
    EXPECT_NE(error.find("--lr-d"), std::string::npos) << value << ": " << error;
    EXPECT_EQ(error.find("1.79"), std::string::npos) << error;
  }
  EXPECT_NE(error_of({"--lr-g", "1e30"}).find("(0, 1]"), std::string::npos);
  EXPECT_NE(error_of({"--lambda-cycle", "-1"}).find("--lambda-cycle"), std::string::npos);
  EXPECT_NE(error_of({"--bucket-mb", "1e308"}).find("--bucket-mb"), std::string::npos);
  EXPECT_NE(error_of({"--rmsprop-eps", "0"}).find("--rmsprop-eps"), std::string::npos);
  // The same checks hold for a config file's values.
  const std::string file = write_config("inf", R"({"lr-g": "inf"})");
  EXPECT_NE(error_of({"--config", file}).find("lr-g"), std::string::npos);
}

TEST(CommandLine, NonFinitePolicyAndRunDirectoryDecisions) {
  Config c = parse({"--on-nonfinite", "skip", "--nonfinite-limit", "5"});
  EXPECT_EQ(c.train.on_nonfinite, train::NonFinitePolicy::kSkip);
  EXPECT_EQ(c.train.nonfinite_limit, 5);
  EXPECT_NE(error_of({"--on-nonfinite", "ignore"}).find("stop|skip"), std::string::npos);
  EXPECT_NE(error_of({"--nonfinite-limit", "0"}).find("--nonfinite-limit"), std::string::npos);
  EXPECT_FALSE(parse({}).overwrite);
  Config decided = parse({"--overwrite", "--resume-other-run"});
  EXPECT_TRUE(decided.overwrite);
  EXPECT_TRUE(decided.train.resume_other_run);
  // Decisions of one invocation: not in the resolved config a later run may reuse.
  const nlohmann::json resolved = to_json(decided);
  EXPECT_FALSE(resolved.contains("overwrite"));
  EXPECT_FALSE(resolved.contains("resume-other-run"));
  EXPECT_EQ(resolved["on-nonfinite"], "stop");
}

TEST(CommandLine, MalformedConfigFileNamesTheFileAndLine) {
  std::string file = write_config("malformed", "{\n  \"steps\": 10,\n  \"lr-g\" 0.1\n}\n");
  std::string error = error_of({"--config", file});
  EXPECT_NE(error.find(file), std::string::npos) << error;
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
  std::string unknown = write_config("unknown", R"({"stepz": 10})");
  EXPECT_NE(error_of({"--config", unknown}).find("'stepz'"), std::string::npos);
  std::string bad_value = write_config("bad_value", R"({"steps": "many"})");
  error = error_of({"--config", bad_value});
  EXPECT_NE(error.find("'steps'"), std::string::npos) << error;
  EXPECT_NE(error_of({"--config", "/nonexistent.json"}).find("/nonexistent.json"),
            std::string::npos);
}

TEST(CommandLine, NcclNeedsACudaDeviceAndAutoPicksTheBackendByDevice) {
  EXPECT_NE(error_of({"--backend", "nccl"}).find("--backend nccl needs --device cuda"),
            std::string::npos);
  EXPECT_NE(error_of({"--backend", "nccl", "--device", "cpu"}).find("--backend nccl"),
            std::string::npos);
  // Which GPUs are visible is the job's check, not the parser's.
  const Config cuda = parse({"--device", "cuda"});
  const Config cpu = parse({});
  EXPECT_EQ(resolve_backend(cpu, 4), "mpi");
  EXPECT_EQ(resolve_backend(parse({"--backend", "mpi"}), 4), "mpi");
#ifdef CYCLEGAN_WITH_CUDA
  EXPECT_EQ(resolve_backend(cuda, 2), "nccl");
  EXPECT_EQ(resolve_backend(parse({"--backend", "nccl", "--device", "cuda:1"}), 2), "nccl");
#else
  try {
    resolve_backend(cuda, 2);
    ADD_FAILURE() << "nccl accepted in a build without CUDA/NCCL";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend nccl: this build has no CUDA/NCCL"),
              std::string::npos)
        << e.what();
  }
#endif
  const Config mpi_on_cuda = parse({"--backend", "mpi", "--device", "cuda"});
  EXPECT_EQ(resolve_backend(mpi_on_cuda, 1), "mpi");
  try {
    resolve_backend(mpi_on_cuda, 2);
    ADD_FAILURE() << "--backend mpi accepted for CUDA tensors on 2 ranks";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend mpi reduces CPU tensors"), std::string::npos)
        << e.what();
  }
}

TEST(CommandLine, ABareBooleanFlagMeansTrueAndStillTakesAValue) {
  EXPECT_TRUE(parse({"--flip"}).data.flip);
  EXPECT_TRUE(parse({"--flip", "--steps", "3"}).data.flip);
  EXPECT_FALSE(parse({"--preset", "paper-256", "--flip", "false"}).data.flip);
  EXPECT_FALSE(parse({"--tensorboard", "false"}).metrics.tensorboard);
  EXPECT_TRUE(parse({"--overlap", "false", "--overlap"}).dist.overlap);
  EXPECT_NE(error_of({"--flip", "sometimes"}).find("--flip"), std::string::npos);
  // Options that are not booleans still need their value.
  EXPECT_NE(error_of({"--steps"}).find("--steps"), std::string::npos);
  // A config file gives the value, always.
  const std::string file = write_config("bare_bool", R"({"flip": ""})");
  EXPECT_NE(error_of({"--config", file}).find("option 'flip'"), std::string::npos);
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
  const std::string file = write_config("precision_roundtrip", to_json(c).dump());
  const Config back = parse({"--config", file});
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

}  // namespace
}  // namespace cg::cli
