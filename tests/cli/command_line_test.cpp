#include "cli/command_line.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "cli/option_table.h"
#include "common/error.h"
#include "model/cycle_gan.h"
#include "parse_helpers.h"
#include "train/trainer_options.h"

namespace cg::cli {
namespace {
using namespace cg::cli::testing;  // NOLINT(google-build-using-namespace)

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
  const std::string dir = std::filesystem::temp_directory_path().string();
  const Config on_dir = parse({"--data", dir});
  EXPECT_EQ(on_dir.data.source.kind, DataSource::Kind::kDirectory);
  EXPECT_EQ(on_dir.data.source.directory, dir);
  EXPECT_EQ(to_json(on_dir)["data"], dir);
  const Config synthetic = parse({"--data", "synthetic"});
  EXPECT_TRUE(synthetic.data.source.synthetic());
  EXPECT_EQ(to_json(synthetic)["data"], "synthetic");
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
  EXPECT_EQ(to_json(read_back("roundtrip", c)), to_json(c));
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
  const Config overwrite = parse({"--overwrite"});
  EXPECT_TRUE(overwrite.overwrite);
  const std::string checkpoint = write_config("other_run_checkpoint", "{}");
  const Config other = parse({"--resume", checkpoint, "--resume-other-run"});
  EXPECT_TRUE(other.train.resume_other_run);
  EXPECT_FALSE(other.overwrite);
  // Decisions of one invocation: not in the resolved config a later run may reuse.
  for (const Config& decided : {overwrite, other}) {
    const nlohmann::json resolved = to_json(decided);
    EXPECT_FALSE(resolved.contains("overwrite"));
    EXPECT_FALSE(resolved.contains("resume-other-run"));
    EXPECT_EQ(resolved["on-nonfinite"], "stop");
  }
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

TEST(CommandLine, BestMetricIsOneOfTheFourScores) {
  EXPECT_EQ(parse({}).train.best_metric, eval::Metric::kFidAtoB);
  EXPECT_EQ(parse({"--best-metric", "kid-BtoA"}).train.best_metric, eval::Metric::kKidBtoA);
  EXPECT_EQ(to_json(parse({"--best-metric", "fid-BtoA"}))["best-metric"], "fid-BtoA");
  EXPECT_EQ(one_line_error_of({"--best-metric", "psnr"}),
            "--best-metric: expected one of fid-AtoB|fid-BtoA|kid-AtoB|kid-BtoA, got 'psnr'");
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

TEST(CommandLine, AnUnknownFlagOrAStrayValueIsNamedFirst) {
  // CLI11 itself says "The following arguments were not expected: 0.1 --lr".
  EXPECT_EQ(one_line_error_of({"--lr", "0.1"}), "unknown option --lr (see --help)");
  EXPECT_EQ(one_line_error_of({"--lr=0.1"}), "unknown option --lr (see --help)");
  EXPECT_EQ(one_line_error_of({"--steps", "3", "--lr", "0.1", "--bogus"}),
            "unknown option --lr (see --help)");
  EXPECT_EQ(one_line_error_of({"--lr_g", "0.1"}), "unknown option --lr_g (did you mean --lr-g?)");
  EXPECT_EQ(one_line_error_of({"-steps", "3"}), "unknown option -steps (did you mean --steps?)");
  EXPECT_EQ(one_line_error_of({"0.1"}),
            "unexpected argument '0.1': flags are --name VALUE (see --help)");
  EXPECT_EQ(one_line_error_of({"--steps", "10", "20"}),
            "unexpected argument '20': flags are --name VALUE (see --help)");
  EXPECT_EQ(one_line_error_of({"--overwrite", "yes"}),
            "unexpected argument 'yes': flags are --name VALUE (see --help)");
  EXPECT_EQ(one_line_error_of({"-1"}),
            "unexpected argument '-1': flags are --name VALUE (see --help)");
}

TEST(CommandLine, AFlagWithoutItsValueIsNamed) {
  // CLI11 itself says "--steps: 1 required TEXT missing".
  EXPECT_EQ(one_line_error_of({"--steps"}), "--steps needs a value (see --help)");
  EXPECT_EQ(one_line_error_of({"--config"}), "--config needs a value (see --help)");
  // CLI11 gives --steps the next argument, a flag, and leaves 4 stray.
  EXPECT_EQ(one_line_error_of({"--steps", "--batch-size", "4"}),
            "--steps needs a value, but the next argument is the flag --batch-size (see --help)");
  EXPECT_EQ(one_line_error_of({"--run-dir", "--lr", "0.1"}),
            "--run-dir needs a value, but the next argument is the flag --lr (see --help)");
  EXPECT_EQ(one_line_error_of({"--preset", "--steps=3"}),
            "--preset needs a value, but the next argument is the flag --steps (see --help)");
  // A negative number is a value, and a bare boolean flag needs none.
  EXPECT_NE(one_line_error_of({"--steps", "-3"}).find("--steps must be >= 0, got -3"),
            std::string::npos);
  EXPECT_TRUE(parse({"--flip", "--steps", "3"}).data.flip);
}

TEST(CommandLine, AConfigFilesValueIsNamedByItsKeyAndTheFile) {
  const std::string file = write_config("lr_from_file", R"({"lr-g": 5})");
  EXPECT_EQ(one_line_error_of({"--config", file}),
            "lr-g in config file " + file + " must be in (0, 1], got 5");
  // A flag over the file's value is named as the flag, and a flag fixes the file's value.
  const std::string good = write_config("good_lr_in_file", R"({"lr-g": 0.5})");
  EXPECT_EQ(one_line_error_of({"--config", good, "--lr-g", "5"}),
            "--lr-g must be in (0, 1], got 5");
  EXPECT_DOUBLE_EQ(parse({"--config", file, "--lr-g", "0.5"}).train.lr_g, 0.5);
  const std::string no_steps = write_config("no_steps", R"({"steps": 0, "epochs": 0})");
  EXPECT_EQ(one_line_error_of({"--config", no_steps}), "set steps in config file " + no_steps +
                                                           " or epochs in config file " + no_steps +
                                                           " above 0");
  EXPECT_EQ(one_line_error_of({"--config", no_steps, "--epochs", "0"}),
            "set steps in config file " + no_steps + " or --epochs above 0");
  // A preset's value is named by the flag that changes it.
  EXPECT_EQ(one_line_error_of({"--preset", "paper-256", "--n-layers", "7"}),
            "--image-size is too small for a PatchGAN of 7 layers: at least 512, got 256");
  // The option table's own errors name the file and the key.
  const std::string not_a_number = write_config("steps_text", R"({"steps": "many"})");
  EXPECT_EQ(one_line_error_of({"--config", not_a_number}),
            "config file " + not_a_number + ": option 'steps': expected an integer, got 'many'");
  const std::string fraction = write_config("steps_fraction", R"({"batch-size": 2.5})");
  EXPECT_EQ(one_line_error_of({"--config", fraction}),
            "config file " + fraction + ": option 'batch-size': expected an integer, got '2.5'");
  const std::string preset_name = write_config("unknown_preset", R"({"preset": "paper"})");
  EXPECT_EQ(one_line_error_of({"--config", preset_name}),
            "config file " + preset_name +
                ": option 'preset': unknown preset 'paper' (choose one of cifar-colorize, "
                "paper-256)");
  const std::string preset_number = write_config("number_preset", R"({"preset": 3})");
  EXPECT_EQ(one_line_error_of({"--config", preset_number}),
            "config file " + preset_number + ": option 'preset' must be a string, got 3");
  EXPECT_EQ(one_line_error_of({"--config", preset_number, "--preset", "paper-256"}), "");
  // validate(config) alone names every option by its flag.
  Config c = parse({});
  c.train.lr_g = 5;
  try {
    validate(c);
    ADD_FAILURE() << "--lr-g 5 accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "--lr-g must be in (0, 1], got 5");
  }
}

TEST(CommandLine, RunDirectoryDecisionsThatWouldBeIgnoredAreRefused) {
  const std::string checkpoint = write_config("decisions_checkpoint", "{}");
  EXPECT_EQ(one_line_error_of({"--resume-other-run"}),
            "--resume-other-run needs --resume PATH (a checkpoint of the other run)");
  EXPECT_EQ(one_line_error_of({"--resume", "auto", "--resume-other-run"}),
            "--resume-other-run needs --resume PATH: --resume auto only takes the run "
            "directory's own checkpoints");
  for (const std::string& resume : {std::string("auto"), checkpoint}) {
    EXPECT_EQ(one_line_error_of({"--overwrite", "--resume", resume}),
              "--overwrite starts a new run; --resume continues one: give one of them");
  }
  // A resolved config.json of a resumed run holds "resume": "auto".
  const std::string resumed = write_config("resumed_run", R"({"resume": "auto"})");
  EXPECT_EQ(one_line_error_of({"--config", resumed, "--overwrite"}),
            "--overwrite starts a new run; resume in config file " + resumed +
                " continues one: give one of them");
  EXPECT_TRUE(parse({"--config", resumed, "--resume", "", "--overwrite"}).overwrite);
  EXPECT_EQ(parse({"--resume", checkpoint, "--resume-other-run"}).train.resume, checkpoint);
}

TEST(CommandLine, AStringThatIsNotUtf8IsRefusedNamingItsFlag) {
  EXPECT_EQ(one_line_error_of({"--run-dir", "runs/a\xff"}),
            "--run-dir: the path is not valid UTF-8 (byte 0xFF at index 6); config.json records "
            "it as text: rename it");
  EXPECT_EQ(one_line_error_of({"--data", "x\xff", "--run-dir", "/tmp/r"}),
            "--data: the path is not valid UTF-8 (byte 0xFF at index 1); config.json records it "
            "as text: rename it");
  EXPECT_EQ(one_line_error_of({"--device", "cpu\xff"}),
            "--device: the value is not valid UTF-8 (byte 0xFF at index 3); config.json records "
            "it as text: give it in UTF-8");
  // Every string option the resolved config records, whatever else is wrong with the value.
  int checked = 0;
  for (const OptionSpec& spec : option_table()) {
    Config probe;
    if (!spec.get(probe).is_string()) continue;
    try {
      spec.set(probe, "any", "probe");
    } catch (const ConfigError&) {
      continue;  // a choice: its parser refuses any other text
    }
    const std::string error = one_line_error_of({"--" + spec.name, "ok\xc3\x28"});
    EXPECT_EQ(error.rfind("--" + spec.name + ": the ", 0), 0u) << error;
    EXPECT_NE(error.find("not valid UTF-8 (byte 0x28 at index 3)"), std::string::npos) << error;
    ++checked;
  }
  // run-dir, device, metrics-bind, pushgateway, resume, data, inception
  EXPECT_GE(checked, 7);
  Config c = parse({});
  c.preset = "x\xff";
  try {
    validate(c);
    ADD_FAILURE() << "a preset name that is not UTF-8 accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--preset: the value is not valid UTF-8", 0), 0u)
        << e.what();
  }
  // What nlohmann::json refuses to write, and only that, is refused: overlong forms,
  // surrogates, sequences cut short.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xc0\xaf", "0xC0 at index 1"},          // overlong '/'
      {"a\xed\xa0\x80", "0xA0 at index 2"},      // surrogate U+D800
      {"ab\xe2\x82", "0xE2 at index 2"},         // cut short
      {"a\xf4\x90\x80\x80", "0x90 at index 2"},  // above U+10FFFF
      {"\x80", "0x80 at index 0"}};              // a continuation byte first
  for (const auto& [text, byte] : cases) {
    EXPECT_THROW(nlohmann::json(text).dump(), nlohmann::json::type_error);
    const std::string error = one_line_error_of({"--run-dir", text});
    EXPECT_NE(error.find("(byte " + byte + ")"), std::string::npos) << error;
  }
  const std::string accented = "runs/caf\xc3\xa9-\xe6\x97\xa5-\xf0\x9f\x98\x80";
  const Config ok = parse({"--run-dir", accented});
  EXPECT_EQ(ok.train.run_dir, accented);
  EXPECT_NO_THROW(to_json(ok).dump());
}

}  // namespace
}  // namespace cg::cli
