// translate() with a tile, and with a --max-memory budget the whole-image pass exceeds,
// writes the same images as the whole-image pass (odd sizes: reflect-padded, cropped back).
#include <gtest/gtest.h>

#include <filesystem>

#include "image/image_file.h"
#include "image/tensor_image.h"
#include "infer/translator.h"
#include "tiled_test_util.h"

namespace cg::infer {
namespace {

namespace fs = std::filesystem;

// Max abs difference of the 8-bit pixels of two translations' image `name`.
int max_pixel_diff(const fs::path& a, const fs::path& b, const std::string& name) {
  const image::Image x = image::decode_image((a / name).string());
  const image::Image y = image::decode_image((b / name).string());
  EXPECT_EQ(x.height, y.height);
  EXPECT_EQ(x.width, y.width);
  int diff = 0;
  for (size_t i = 0; i < x.pixels.size() && i < y.pixels.size(); ++i) {
    diff = std::max(diff, std::abs(int{x.pixels[i]} - int{y.pixels[i]}));
  }
  return diff;
}

TEST(TiledTranslate, TileAndMemoryBudgetWriteTheWholePassImages) {
  const fs::path dir = fs::path(::testing::TempDir()) / "tiled_translate";
  fs::remove_all(dir);
  fs::create_directories(dir / "in");
  torch::manual_seed(3);
  image::write_png((dir / "in" / "odd.png").string(),
                   torch::randint(0, 256, {45, 61, 3}, torch::kUInt8));
  image::write_png((dir / "in" / "wide.png").string(),
                   torch::randint(0, 256, {32, 120, 3}, torch::kUInt8));
  SavedModel saved;
  saved.preset = "cifar-colorize";
  saved.net = tiled_testing::perturbed_net("cifar-colorize");
  TranslateOptions options;
  options.progress = false;
  // (translate's result is left alone: its type is growing with issue 29's multi-rank part.)
  translate(saved, (dir / "in").string(), (dir / "whole").string(), options);
  TranslateOptions tiled = options;
  tiled.tile = 20;
  translate(saved, (dir / "in").string(), (dir / "tiled").string(), tiled);
  TranslateOptions budget = options;
  budget.max_memory = 1 << 16;  // below a whole pass of either image
  translate(saved, (dir / "in").string(), (dir / "budget").string(), budget);
  for (const char* name : {"odd.png", "wide.png"}) {
    // 1e-5 apart before rounding to 8 bits: at most one level where a value sits on a
    // rounding boundary.
    EXPECT_LE(max_pixel_diff(dir / "whole", dir / "tiled", name), 1) << name;
    EXPECT_LE(max_pixel_diff(dir / "whole", dir / "budget", name), 1) << name;
  }
  fs::remove_all(dir);
}

TEST(TiledTranslate, ChooseTile) {
  model::CycleGan net = tiled_testing::perturbed_net("paper-256");
  auto& g = *generator_of(net, true);
  TranslateOptions options;
  EXPECT_EQ(choose_tile(g, 1, 3, 4096, 4096, options), 0);  // no budget: whole pass
  options.max_memory = int64_t{64} << 30;
  EXPECT_EQ(choose_tile(g, 1, 3, 4096, 4096, options), 0);  // fits
  options.max_memory = int64_t{2} << 30;
  const int64_t tile = choose_tile(g, 1, 3, 4096, 4096, options);
  EXPECT_GT(tile, 0);
  EXPECT_LE(tiled_pass_bytes(g, 3, 4096, 4096, tile), options.max_memory);
  options.tile = 300;  // an explicit tile wins
  EXPECT_EQ(choose_tile(g, 1, 3, 4096, 4096, options), 300);
}

}  // namespace
}  // namespace cg::infer
