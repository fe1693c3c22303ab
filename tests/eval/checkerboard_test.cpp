// The checkerboard measure: spectra of known patterns (a pure period-p pattern all at the
// period's bins, a frequency off them only around them, white noise flat), the period bins'
// share equal to the mean-tile identity, images with a planted period-p or period-2 grid far
// above clean ones, clean ones near 1, and the demo's real photographs (built from
// mate-backgrounds' pictures, no training) near 1 against each other and far above 1 with
// a grid added.
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

// The measure of `images` against `real`, from their spectra summed over each set.
double measure(const torch::Tensor& images, const torch::Tensor& real, int64_t period) {
  return checkerboard_measure(checkerboard_spectra(images, period).sum(0),
                              checkerboard_spectra(real, period).sum(0));
}

double peak(const torch::Tensor& images, int64_t period) {
  return checkerboard_peak(checkerboard_spectra(images, period).sum(0));
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

TEST(Checkerboard, SpectraOfKnownPatterns) {
  // A pure period-8 pattern: all its energy at the period's bins, none around them.
  const torch::Tensor pure = checkerboard_spectra(grid(1, 32, 8, 1.0), 8);
  ASSERT_EQ(pure.sizes(), torch::IntArrayRef({1, 2, 63}));
  EXPECT_NEAR(pure[0][0].sum().item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(pure[0][1].sum().item<double>(), 0.0, 1e-12);
  // A period-4 pattern is also period 8 (4 divides 8), not the other way round.
  EXPECT_NEAR(checkerboard_spectra(grid(3, 32, 4, 1.0), 8)[0][0].sum().item<double>(), 1.0, 1e-12);
  EXPECT_LT(checkerboard_spectra(grid(1, 32, 8, 1.0), 4)[0][0].sum().item<double>(), 0.9);
  // A cosine of 3 cycles over 32 pixels is on none of the period-8 bins (multiples of 4),
  // but next to (0, 4): its neighbourhood.
  const torch::Tensor x = torch::arange(32, torch::kDouble);
  const torch::Tensor wave =
      torch::cos(2 * M_PI * 3 * x / 32).view({1, 1, 1, 32}).expand({1, 1, 32, 32});
  const torch::Tensor off = checkerboard_spectra(wave, 8);
  EXPECT_NEAR(off[0][0].sum().item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(off[0][1][0].item<double>(), 0.5 / 8, 1e-12);  // bin (0, 4): (0, 3) of 8 around
  // A constant image has no spectrum; sizes beyond the multiple of p are cropped away.
  EXPECT_EQ(checkerboard_spectra(torch::full({2, 3, 20, 20}, 0.5), 8).abs().sum().item<double>(),
            0);
  const torch::Tensor cropped = torch::cat({grid(1, 32, 8, 1.0), torch::rand({1, 1, 32, 5})}, 3);
  EXPECT_TRUE(checkerboard_spectra(cropped, 8).equal(pure));
  // White noise: a flat spectrum, every bin like its neighbours.
  torch::manual_seed(5);
  EXPECT_NEAR(peak(torch::rand({256, 1, 64, 64}, torch::kDouble), 8), 1.0, 0.05);
  EXPECT_THROW(checkerboard_spectra(torch::rand({1, 2, 32, 32}), 8), c10::Error);
  EXPECT_THROW(checkerboard_spectra(torch::rand({1, 1, 12, 32}), 8), c10::Error);  // < 2p
  EXPECT_TRUE(std::isnan(checkerboard_peak(torch::zeros({2, 63}, torch::kDouble))));
}

TEST(Checkerboard, PeriodBinsSumToTheMeanTileShare) {
  // Aliasing: the period bins' share of the energy is the share of the variance that the
  // mean p x p tile explains.
  torch::manual_seed(2);
  const torch::Tensor images = smooth(3, 1, 48, 40) + 0.05 * torch::rand({3, 1, 48, 48});
  for (int64_t period : {4, 8}) {
    const torch::Tensor at = checkerboard_spectra(images, period).select(1, 0).sum(1);
    for (int64_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(at[i].item<double>(), tile_form(images[i][0], period), 1e-12)
          << "image " << i << ", period " << period;
    }
  }
  // Colour: the BT.601 luminance is measured.
  const torch::Tensor rgb = smooth(2, 3, 32, 60);
  const torch::Tensor luma =
      0.299 * rgb.select(1, 0) + 0.587 * rgb.select(1, 1) + 0.114 * rgb.select(1, 2);
  EXPECT_NEAR(checkerboard_spectra(rgb, 8)[1][0].sum().item<double>(), tile_form(luma[1], 8),
              1e-12);
}

TEST(Checkerboard, PlantedGridScoresFarAboveCleanImages) {
  const torch::Tensor real = smooth(40, 3, 32, 100), clean = smooth(40, 3, 32, 500);
  const double ratio_clean = measure(clean, real, 8);
  // A grid of +-10 % and of +-2 % of the value range on the same clean pictures, and a
  // period-2 grid (what the last stride-2 transposed convolution leaves) of +-10 %: it is at
  // 3 of the 63 bins only, so it moves their mean less.
  const double ratio_grid = measure((clean + grid(3, 32, 8, 0.2)).clamp(0, 1), real, 8);
  const double ratio_faint = measure((clean + grid(3, 32, 8, 0.04)).clamp(0, 1), real, 8);
  const double ratio_two = measure((clean + grid(3, 32, 2, 0.2)).clamp(0, 1), real, 8);
  std::printf(
      "smooth pictures 32x32, p 8: clean %.3f, grid +-10%% %.3f, +-2%% %.3f, period 2 +-10%% "
      "%.3f\n",
      ratio_clean, ratio_grid, ratio_faint, ratio_two);
  EXPECT_GT(ratio_clean, 0.8);
  EXPECT_LT(ratio_clean, 1.25);
  EXPECT_GT(ratio_grid, 10.0);
  EXPECT_GT(ratio_faint, 1.5);
  EXPECT_GT(ratio_two, 1.5);
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
    const double photos = measure(test_b, train_b, period);
    const double gray = measure(test_a, train_b, period);
    const double planted =
        measure((test_b + grid(3, 64, period, 0.08)).clamp(0, 1), train_b, period);
    std::printf(
        "demo photographs 64x64, p %lld: test vs train %.3f, gray test %.3f, with a +-4%% grid "
        "%.3f\n",
        static_cast<long long>(period), photos, gray, planted);
    EXPECT_GT(photos, 0.75);
    EXPECT_LT(photos, 1.33);
    EXPECT_NEAR(gray, photos, 0.1 * photos);  // the gray of the same crops: about the same
    EXPECT_GT(planted, 3.0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cg::eval
