// The checkerboard measure: c of known patterns (a pure period-p pattern 1, frequencies off
// the period's bins 0, white noise its expected share), the FFT's bins equal to the
// mean-tile identity, images with a planted period-p grid far above clean ones, clean ones
// near 1, and the demo's real photographs (built from mate-backgrounds' pictures, no
// training) near 1 against each other and far above 1 with a grid added.
#include "eval/checkerboard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "build_demo.h"
#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "eval_test_dataset.h"

namespace cg::eval {
namespace {
namespace fs = std::filesystem;
using torch::indexing::Slice;

double mean_c(const torch::Tensor& images, int64_t period) {
  return checkerboard_fractions(images, period).mean().item<double>();
}

// A (1, C, size, size) image with a period-p pattern of amplitude `amplitude`: a fixed
// random p x p tile, repeated.
torch::Tensor grid(int64_t channels, int64_t size, int64_t period, double amplitude) {
  torch::manual_seed(11);
  const torch::Tensor tile = torch::rand({1, channels, period, period}, torch::kDouble) - 0.5;
  return amplitude * tile.repeat({1, 1, size / period, size / period});
}

// Smooth pictures as the evaluator tests use: (N, C, size, size) in [0, 1].
torch::Tensor smooth(int64_t n, int64_t channels, int64_t size, uint64_t seed) {
  torch::Tensor out = torch::empty({n, channels, size, size}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<uint8_t> hwc = testing::picture(size, channels, seed + static_cast<uint64_t>(i));
    out[i] = torch::from_blob(hwc.data(), {size, size, channels}, torch::kUInt8)
                 .permute({2, 0, 1})
                 .to(torch::kDouble)
                 .div(255);
  }
  return out;
}

// c from its equivalent form: B sum(t^2) / sum(x^2), t the mean p x p tile of the
// mean-removed luminance x, B the number of tiles.
double tile_form(const torch::Tensor& gray, int64_t period) {
  torch::Tensor x = gray.to(torch::kDouble);
  x = x - x.mean();
  const int64_t h = x.size(0), w = x.size(1);
  const torch::Tensor t =
      x.reshape({h / period, period, w / period, period}).mean(std::vector<int64_t>{0, 2});
  const double tiles = static_cast<double>(h * w / (period * period));
  return tiles * t.square().sum().item<double>() / x.square().sum().item<double>();
}

TEST(Checkerboard, KnownPatterns) {
  // A pure period-8 pattern: all its energy at the period's bins.
  EXPECT_NEAR(mean_c(grid(1, 32, 8, 1.0), 8), 1.0, 1e-12);
  EXPECT_NEAR(mean_c(grid(3, 64, 4, 1.0), 4), 1.0, 1e-12);
  // A period-4 pattern is also period 8 (4 divides 8), not the other way round.
  EXPECT_NEAR(mean_c(grid(1, 32, 4, 1.0), 8), 1.0, 1e-12);
  EXPECT_LT(mean_c(grid(1, 32, 8, 1.0), 4), 0.9);
  // A cosine of 3 cycles over 32 pixels is on none of the period-8 bins (multiples of 4).
  const torch::Tensor x = torch::arange(32, torch::kDouble);
  const torch::Tensor wave =
      torch::cos(2 * M_PI * 3 * x / 32).view({1, 1, 1, 32}).expand({1, 1, 32, 32});
  EXPECT_NEAR(mean_c(wave, 8), 0.0, 1e-12);
  // A constant image has none; its size beyond the multiple of p is cropped away.
  EXPECT_EQ(mean_c(torch::full({2, 3, 20, 20}, 0.5), 8), 0.0);
  const torch::Tensor cropped = torch::cat({grid(1, 32, 8, 1.0), torch::rand({1, 1, 32, 5})}, 3);
  EXPECT_NEAR(mean_c(cropped, 8), 1.0, 1e-12);
  // White noise: (p^2 - 1) / (H W - 1) of its energy in expectation (63 / 4095 here).
  torch::manual_seed(5);
  const double noise = mean_c(torch::rand({64, 1, 64, 64}, torch::kDouble), 8);
  EXPECT_NEAR(noise, 63.0 / 4095.0, 0.002);
  EXPECT_THROW(checkerboard_fractions(torch::rand({1, 2, 32, 32}), 8), c10::Error);
  EXPECT_THROW(checkerboard_fractions(torch::rand({1, 1, 4, 32}), 8), c10::Error);
  EXPECT_TRUE(std::isnan(checkerboard_ratio(0.1, 0.0)));
  EXPECT_EQ(checkerboard_ratio(0.1, 0.05), 2.0);
}

TEST(Checkerboard, FourierBinsEqualTheMeanTileForm) {
  torch::manual_seed(2);
  const torch::Tensor images = smooth(3, 1, 48, 40) + 0.05 * torch::rand({3, 1, 48, 48});
  const torch::Tensor c = checkerboard_fractions(images, 8);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(c[i].item<double>(), tile_form(images[i][0], 8), 1e-12) << "image " << i;
    EXPECT_NEAR(checkerboard_fractions(images, 4)[i].item<double>(), tile_form(images[i][0], 4),
                1e-12);
  }
  // Colour: the BT.601 luminance is measured.
  const torch::Tensor rgb = smooth(2, 3, 32, 60);
  const torch::Tensor luma =
      0.299 * rgb.select(1, 0) + 0.587 * rgb.select(1, 1) + 0.114 * rgb.select(1, 2);
  EXPECT_NEAR(checkerboard_fractions(rgb, 8)[1].item<double>(), tile_form(luma[1], 8), 1e-12);
}

TEST(Checkerboard, PlantedGridScoresFarAboveCleanImages) {
  const torch::Tensor real = smooth(40, 3, 32, 100), clean = smooth(40, 3, 32, 500);
  const double reference = mean_c(real, 8);
  const double ratio_clean = checkerboard_ratio(mean_c(clean, 8), reference);
  // A grid of +-10 % of the value range on the same clean pictures.
  const double ratio_grid =
      checkerboard_ratio(mean_c((clean + grid(3, 32, 8, 0.2)).clamp(0, 1), 8), reference);
  std::printf("smooth pictures 32x32, p 8: clean %.3f, with a grid %.3f\n", ratio_clean,
              ratio_grid);
  EXPECT_GT(ratio_clean, 0.7);
  EXPECT_LT(ratio_clean, 1.4);
  EXPECT_GT(ratio_grid, 5.0);
}

TEST(Checkerboard, RealPhotographsScoreAboutOneAgainstEachOther) {
  const std::string dir = (fs::temp_directory_path() / "cyclegan_checkerboard_demo").string();
  tools::DemoOptions demo;
  demo.size = 64;
  demo.train_images = 200;
  demo.test_images = 100;
  demo.overwrite = true;
  if (const char* photos = std::getenv("CYCLEGAN_DEMO_PHOTOS")) demo.photos = photos;
  try {
    tools::write_demo_dataset(dir, demo);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no demo photographs: " << e.what();
  }
  const data::DatasetManifest manifest = data::read_manifest(dir);
  const auto read = [&](const char* domain, const char* split) {
    const data::ImageSet set(dir, manifest, domain, split);
    torch::Tensor hwc =
        torch::empty({set.size(), set.height(), set.width(), set.channels()}, torch::kUInt8);
    for (int64_t i = 0; i < set.size(); ++i) set.read(i, hwc[i].data_ptr<uint8_t>());
    return hwc.permute({0, 3, 1, 2}).to(torch::kDouble).div(255);
  };
  const torch::Tensor train_b = read("B", "train"), test_b = read("B", "test");
  const torch::Tensor test_a = read("A", "test");
  for (int64_t period : {4, 8}) {
    const double reference = mean_c(train_b, period);
    const double photos = checkerboard_ratio(mean_c(test_b, period), reference);
    const double gray = checkerboard_ratio(mean_c(test_a, period), reference);
    const double planted = checkerboard_ratio(
        mean_c((test_b + grid(3, 64, period, 0.08)).clamp(0, 1), period), reference);
    std::printf(
        "demo photographs 64x64, p %lld: test vs train %.3f, gray test %.3f, with a grid %.3f\n",
        static_cast<long long>(period), photos, gray, planted);
    EXPECT_GT(photos, 0.7);
    EXPECT_LT(photos, 1.4);
    EXPECT_NEAR(gray, photos, 0.1 * photos);  // the gray of the same crops: about the same
    EXPECT_GT(planted, 3.0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cg::eval
