// Writes what check_export.py verifies in Python: for the seed preset and a small paper
// preset, a checkpoint trained 2 steps, its generators exported with --export-pytorch's
// code, and a probe (fixed inputs and the C++ outputs of G and F on them).
// Run through CTest (CYCLEGAN_EXPORT_DIR names the output folder).
#include "infer/pytorch_export.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "cli/command_line.h"
#include "cli/presets.h"
#include "data/tensor_source.h"
#include "infer/saved_model.h"
#include "train/trainer.h"

namespace cg::infer {
namespace {

void export_case(const std::string& name, cli::Config config) {
  const char* root = std::getenv("CYCLEGAN_EXPORT_DIR");
  ASSERT_NE(root, nullptr) << "CYCLEGAN_EXPORT_DIR is not set (run through CTest)";
  const std::filesystem::path dir = std::filesystem::path(root) / name;
  std::filesystem::remove_all(dir);
  config.train.run_dir = (dir / "run").string();
  config.train.steps = 2;
  config.train.batch_size = 2;
  config.train.sample_every = 0;
  config.train.log_every = 100;
  const auto& m = config.model;
  const auto range = model::image_range(m.output_activation);
  torch::manual_seed(5);
  auto images = [&](int64_t channels) {
    return torch::rand({4, channels, 32, 32}) * (range.hi - range.lo) + range.lo;
  };
  data::TensorSource source(images(m.channels_a), images(m.channels_b), 2, 1, true);
  train::Trainer trainer(config.train, config.model, source, cli::to_json(config));
  trainer.train();

  SavedModel saved = load_saved_model(config.train.run_dir, cli::model_description);
  ASSERT_EQ(saved.step, 2);
  export_pytorch(saved, dir.string());
  torch::NoGradGuard no_grad;
  // Odd sizes too: the Python modules must agree away from the training size.
  const torch::Tensor a = images(m.channels_a).narrow(0, 0, 2),
                      b = images(m.channels_b).narrow(0, 0, 2);
  const torch::Tensor a_wide =
      torch::rand({1, m.channels_a, 32, 48}) * (range.hi - range.lo) + range.lo;
  save_for_torch((dir / "probe.pt").string(), {{"a", a},
                                               {"b", b},
                                               {"a_wide", a_wide},
                                               {"g_a", saved.net->g(a)},
                                               {"f_b", saved.net->f(b)},
                                               {"g_a_wide", saved.net->g(a_wide)}});
}

TEST(PytorchExport, SeedPresetForPython) { export_case("seed", cli::preset("cifar-colorize")); }

cli::Config small_paper_preset() {
  cli::Config config = cli::preset("paper-256");
  config.model.ngf = 8;
  config.model.n_blocks = 2;
  config.model.ndf = 8;
  return config;
}

TEST(PytorchExport, PaperPresetForPython) { export_case("paper", small_paper_preset()); }

// --upsample: resize-convolution decoders load in Python too (model.json's "upsample").
TEST(PytorchExport, SeedPresetWithNearestUpsampleForPython) {
  cli::Config config = cli::preset("cifar-colorize");
  config.model.upsample = model::Upsample::kNearest;
  export_case("seed_nearest", config);
}

TEST(PytorchExport, PaperPresetWithBilinearUpsampleForPython) {
  cli::Config config = small_paper_preset();
  config.model.upsample = model::Upsample::kBilinear;
  export_case("paper_bilinear", config);
}

}  // namespace
}  // namespace cg::infer
