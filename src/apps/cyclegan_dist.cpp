// cyclegan_dist: trains a CycleGAN. See README.md for usage.
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "common/accelerator.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "data/color.h"
#include "data/synthetic_scenes.h"
#include "data/tensor_source.h"
#include "train/trainer.h"

namespace {

// The synthetic source: domain A is the gray version of one half of the pictures, domain
// B the colour of the other half, so the domains share no picture.
std::unique_ptr<cg::data::TensorSource> make_source(const cg::cli::Config& c) {
  const int64_t n = c.data.synthetic_images;
  torch::Tensor pictures = cg::data::make_scenes(2 * n, c.data.image_size, c.train.seed);
  auto range = cg::model::image_range(c.model.output_activation);
  auto as_domain = [&](torch::Tensor rgb, int64_t channels) {
    torch::Tensor gray = cg::data::to_gray(rgb);
    torch::Tensor images = channels == 1 ? gray : rgb;
    return cg::data::from_unit_range(images, range.lo, range.hi);
  };
  torch::Tensor a = as_domain(pictures.narrow(0, 0, n), c.model.channels_a);
  if (c.model.channels_a == 3) a = cg::data::to_gray(a).expand({-1, 3, -1, -1}).contiguous();
  torch::Tensor b = as_domain(pictures.narrow(0, n, n), c.model.channels_b);
  return std::make_unique<cg::data::TensorSource>(a, b, c.train.batch_size, c.train.seed);
}

int run(int argc, char** argv) {
  std::optional<cg::cli::Config> parsed = cg::cli::parse_command_line(argc, argv);
  if (!parsed) return 0;
  const cg::cli::Config& config = *parsed;
  if (config.threads > 0) torch::set_num_threads(static_cast<int>(config.threads));

  nlohmann::json resolved = cg::cli::to_json(config);
  std::filesystem::create_directories(config.train.run_dir);
  cg::write_file_atomic(config.train.run_dir + "/config.json", resolved.dump(2) + "\n");
  cg::log::add_file(config.train.run_dir + "/train.log");
  cg::log::info("cyclegan_dist ", CYCLEGAN_VERSION, " (LibTorch ", TORCH_VERSION, "; ",
                cg::accelerator_summary(), ") resolved config:\n", resolved.dump(2));

  auto source = make_source(config);
  cg::train::Trainer trainer(config.train, config.model, *source, resolved);
  trainer.train();
  cg::log::info("run directory ", config.train.run_dir, ": samples/ and checkpoints/ are there");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const cg::ConfigError& e) {
    cg::log::error(e.what());
    return 2;
  } catch (const std::exception& e) {
    cg::log::error(cg::describe(e));
    return 1;
  }
}
