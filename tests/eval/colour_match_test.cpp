// ColourMatch on a small data set written through the real DatasetWriter: its target is the
// training photographs' mean colorfulness (of their central training crops), its gain gives the
// colorizations of the training gray images that colorfulness (through clipping too), does not
// depend on the batch size, leaves the net's mode as it was, and a data set without training images
// is refused naming the domain.
#include "eval/colour_match.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "eval/image_quality.h"
#include "eval/test_rows.h"
#include "eval_test_dataset.h"
#include "image/tensor_color.h"
#include "model/init.h"

namespace cg::eval {
namespace {
namespace fs = std::filesystem;

std::string fresh_dataset(const std::string& name, int64_t train) {
  const std::string dir = (fs::temp_directory_path() / ("cyclegan_colour_" + name)).string();
  fs::remove_all(dir);
  testing::write_eval_dataset(dir, train, 3, 7);
  return dir;
}

// The training split of a domain, converted to `channels`.
torch::Tensor train_split(const std::string& dir, const char* domain, int64_t channels) {
  const data::DatasetManifest manifest = data::read_manifest(dir);
  const data::ImageSet set(dir, manifest, domain, "train");
  std::vector<int64_t> all(static_cast<size_t>(set.size()));
  for (int64_t i = 0; i < set.size(); ++i) all[static_cast<size_t>(i)] = i;
  return read_images(set, all, channels);
}

TEST(ColourMatch, GivesTheColorizationsTheTrainingPhotographsColourLevel) {
  const std::string dir = fresh_dataset("level", 24);
  torch::manual_seed(3);
  model::CycleGan net(model::CycleGanOptions{});
  model::init_weights(*net);
  net->train();

  const ColourMatch match(dir, 0, ColourMatch::kImages, 5);
  const torch::Tensor a = train_split(dir, "A", 1), b = train_split(dir, "B", 3);
  EXPECT_NEAR(match.target(), colorfulness(b), 1e-9);
  const double gain = match.gain(net);
  EXPECT_TRUE(net->is_training()) << "gain() must restore the net's mode";

  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor g_a = net->g(a);  // sigmoid: already [0, 1]
  const double unmatched = colorfulness(image::with_luma(g_a, a).clamp(0, 1));
  const double matched = colorfulness(image::with_luma(g_a, a, gain).clamp(0, 1));
  // The untrained generator's colours are far from the photographs' (so the test shows
  // the gain doing something); matched, they are within 2 % of them.
  ASSERT_GT(std::abs(unmatched / match.target() - 1), 0.2)
      << "unmatched " << unmatched << ", target " << match.target();
  EXPECT_NEAR(matched / match.target(), 1.0, 0.02)
      << "gain " << gain << ": " << matched << " against " << match.target();
  // Batches of 5 or all 24 images at once: the same gain.
  EXPECT_NEAR(ColourMatch(dir, 0, ColourMatch::kImages, 64).gain(net), gain, 1e-6 * gain);
}

TEST(ColourMatch, SamplesAtMostTheGivenNumberOfImagesAndTheirCentralCrops) {
  const std::string dir = fresh_dataset("sample", 12);
  const torch::Tensor b = train_split(dir, "B", 3);
  // Images 0, 3, 6 and 9 of 12: evenly spread.
  const torch::Tensor picked = b.index_select(0, torch::tensor({0, 3, 6, 9}, torch::kLong));
  EXPECT_NEAR(ColourMatch(dir, 0, 4).target(), colorfulness(picked), 1e-9);
  // Training crops of 20 pixels: the central 20 x 20 (and G sees the central 16 x 16, its
  // size multiple being 8).
  const ColourMatch cropped(dir, 20, 4);
  EXPECT_NEAR(cropped.target(), colorfulness(picked.narrow(2, 6, 20).narrow(3, 6, 20)), 1e-9);
  torch::manual_seed(3);
  model::CycleGan net(model::CycleGanOptions{});
  model::init_weights(*net);
  const double gain = cropped.gain(net);
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor a = train_split(dir, "A", 1)
                              .index_select(0, torch::tensor({0, 3, 6, 9}, torch::kLong))
                              .narrow(2, 8, 16)
                              .narrow(3, 8, 16);
  const double matched = colorfulness(image::with_luma(net->g(a), a, gain).clamp(0, 1));
  EXPECT_NEAR(matched / cropped.target(), 1.0, 0.02) << "gain " << gain;
}

TEST(ColourMatch, RefusesADataSetWithoutTrainingImages) {
  const std::string dir = (fs::temp_directory_path() / "cyclegan_colour_test_only").string();
  fs::remove_all(dir);
  data::DatasetWriterOptions options;
  options.overwrite = true;
  data::DatasetWriter writer(dir, "test split only", options);
  for (const auto& [domain, channels] : {std::pair{"A", 1}, std::pair{"B", 3}}) {
    writer.begin(domain, "test", 1, 32, 32, channels);
    writer.append(domain, "test", testing::picture(32, channels, 1).data());
  }
  writer.finish(/*paired_test=*/true);
  try {
    ColourMatch match(dir, 32);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no training images in domain A"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cg::eval
