// The streaming Evaluator on small data sets written through the real DatasetWriter: its
// image scores equal those of the whole split in memory at any batch size; its FID/KID equal
// the Fréchet distance of features extracted here from the same picked images; the real
// sets' features are cached in the data set and rebuilt when a shard changes; without the
// Inception weights FID/KID are reported unavailable and nothing else changes.
#include "eval/evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/file_util.h"
#include "eval/feature_cache.h"
#include "eval/feature_stats.h"
#include "eval/fid.h"
#include "eval/image_quality.h"
#include "eval_test_dataset.h"
#include "image/tensor_color.h"
#include "model/init.h"

namespace cg::eval {
namespace {
namespace fs = std::filesystem;

std::string fresh_dataset(const std::string& name, int64_t train, int64_t test) {
  const std::string dir = (fs::temp_directory_path() / ("cyclegan_eval_" + name)).string();
  fs::remove_all(dir);
  testing::write_eval_dataset(dir, train, test, 7);
  return dir;
}

model::CycleGan seeded_net() {
  torch::manual_seed(3);
  model::CycleGan net(model::CycleGanOptions{});
  model::init_weights(*net);
  net->eval();
  return net;
}

// The split's images as (N, C, 32, 32) in [0, 1], converted to `channels`.
torch::Tensor whole_split(const std::string& dir, const char* domain, const char* split,
                          int64_t channels) {
  const data::DatasetManifest manifest = data::read_manifest(dir);
  const data::ImageSet set(dir, manifest, domain, split);
  torch::Tensor hwc = torch::empty({set.size(), 32, 32, set.channels()}, torch::kUInt8);
  for (int64_t i = 0; i < set.size(); ++i) set.read(i, hwc[i].data_ptr<uint8_t>());
  torch::Tensor images = hwc.permute({0, 3, 1, 2}).to(torch::kFloat).div(255);
  if (images.size(1) != channels) images = images.expand({-1, channels, -1, -1});
  return images.contiguous();
}

TEST(Evaluator, StreamsTheScoresOfTheWholeSplitAtAnyBatchSize) {
  const std::string dir = fresh_dataset("stream", 4, 7);
  model::CycleGan net = seeded_net();
  torch::NoGradGuard no_grad;
  const torch::Tensor a = whole_split(dir, "A", "test", 1), b = whole_split(dir, "B", "test", 3);
  const torch::Tensor g_a = net->g(a), f_b = net->f(b);  // sigmoid: already [0, 1]
  const torch::Tensor a_cycled = net->f(g_a), b_cycled = net->g(f_b);
  const torch::Tensor colorized = image::with_luma(g_a, a).clamp(0, 1);

  const Evaluator evaluator(dir, 1, 3);
  for (int64_t batch : {3, 64}) {
    const EvalReport r = evaluator.evaluate(net, batch);
    SCOPED_TRACE("batch " + std::to_string(batch));
    EXPECT_EQ(r.images_a, 7);
    ASSERT_TRUE(r.paired && r.colorization && r.colour_b);
    EXPECT_FALSE(r.fid);
    EXPECT_NEAR(r.translation_psnr_db, psnr(g_a, b), 1e-4);
    EXPECT_NEAR(r.translation_ssim, ssim(g_a, b), 1e-6);
    EXPECT_NEAR(r.baseline_psnr_db, psnr(a.expand({-1, 3, -1, -1}), b), 1e-9);
    EXPECT_NEAR(r.colorized_psnr_db, psnr(colorized, b), 1e-4);
    EXPECT_NEAR(r.colorized_ssim, ssim(colorized, b), 1e-6);
    EXPECT_NEAR(r.cycle_a_psnr_db, psnr(a_cycled, a), 1e-4);
    EXPECT_NEAR(r.cycle_b_l1, mean_abs_error(b_cycled, b), 1e-6);
    EXPECT_NEAR(r.colorfulness_translated, colorfulness(g_a), 1e-3);
    EXPECT_NEAR(r.colorfulness_real, colorfulness(b), 1e-9);
  }
}

TEST(Evaluator, WithoutInceptionWeightsFidAndKidAreUnavailable) {
  const std::string dir = fresh_dataset("no_weights", 4, 3);
  EvalOptions options;
  options.fid_images = 2;
  // Weights named by --inception must be there: a missing file is a bad flag.
  options.inception = "/nonexistent/inception.pt";
  try {
    Evaluator refused(dir, 1, 3, options);
    ADD_FAILURE() << "a missing --inception file was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--inception"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(options.inception), std::string::npos) << e.what();
  }
  // Without the default weights (scripts/setup not run), FID/KID are unavailable.
  options.inception.clear();
  const char* env = std::getenv("CYCLEGAN_INCEPTION");
  const std::string saved = env != nullptr ? env : "";
  setenv("CYCLEGAN_INCEPTION", "/nonexistent/inception.pt", 1);
  const Evaluator evaluator(dir, 1, 3, options);
  if (env != nullptr) {
    setenv("CYCLEGAN_INCEPTION", saved.c_str(), 1);
  } else {
    unsetenv("CYCLEGAN_INCEPTION");
  }
  EXPECT_EQ(evaluator.inception(), nullptr);
  EXPECT_NE(evaluator.fid_unavailable().find("unavailable"), std::string::npos);
  model::CycleGan net = seeded_net();
  const EvalReport r = evaluator.evaluate(net);
  EXPECT_FALSE(r.fid);
  EXPECT_TRUE(r.paired);
  EXPECT_EQ(r.to_json().at("fid_unavailable"), evaluator.fid_unavailable());
  EXPECT_FALSE(r.to_json().contains("fid"));
  EXPECT_THROW(Evaluator(dir, 1, 3, EvalOptions{0, 32, 1}), ConfigError);
}

TEST(Evaluator, FidAndKidOfPickedImagesCachedAndRebuiltWhenAShardChanges) {
  if (!fs::exists(default_inception_path()))
    GTEST_SKIP() << "FID/KID unavailable: no weights at " << default_inception_path();
  // Test splits of 5, train splits of 6; 3 images per set: test images 0, 1, 3 (j * 5 / 3)
  // and train images 0, 2, 4.
  const std::string dir = fresh_dataset("fid", 6, 5);
  EvalOptions options;
  options.fid_images = 3;
  options.batch_size = 2;
  options.kid.subsets = 4;
  model::CycleGan net = seeded_net();
  const auto first = Evaluator(dir, 1, 3, options).evaluate(net);
  ASSERT_TRUE(first.fid && first.fid_floor);
  EXPECT_EQ(first.fid_real_sets_computed, 4);
  EXPECT_EQ(first.fid_real_sets_cached, 0);
  EXPECT_EQ(first.fid_a_to_b.images, 3);
  EXPECT_EQ(first.fid_a_to_b.reference_images, 3);

  {  // The same numbers from features extracted here.
    torch::NoGradGuard no_grad;
    const InceptionFeatures inception(default_inception_path());
    const torch::Tensor picked = torch::tensor({0, 1, 3}, torch::kLong);
    const torch::Tensor g_a = net->g(whole_split(dir, "A", "test", 1).index_select(0, picked));
    FeatureStats fake(InceptionFeatures::kFeatureDim), real(InceptionFeatures::kFeatureDim),
        train(InceptionFeatures::kFeatureDim);
    fake.add(inception.extract(g_a));
    const torch::Tensor real_features =
        inception.extract(whole_split(dir, "B", "test", 3).index_select(0, picked));
    real.add(real_features);
    train.add(inception.extract(
        whole_split(dir, "B", "train", 3).index_select(0, torch::tensor({0, 2, 4}, torch::kLong))));
    const double fid = frechet_distance(fake, real), floor = frechet_distance(train, real);
    EXPECT_NEAR(first.fid_a_to_b.fid, fid, 1e-6 * fid);
    EXPECT_NEAR(first.floor_b.fid, floor, 1e-6 * floor);
    EXPECT_GT(first.fid_a_to_b.fid, first.floor_b.fid);  // an untrained G is far from real B
    EXPECT_GT(first.fid_a_to_b.kid, 0);
  }

  // The second evaluation reads all four real sets from the cache, to the same numbers.
  const auto second = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_EQ(second.fid_real_sets_cached, 4);
  EXPECT_EQ(second.fid_real_sets_computed, 0);
  EXPECT_EQ(second.fid_a_to_b.fid, first.fid_a_to_b.fid);
  EXPECT_EQ(second.floor_a.kid, first.floor_a.kid);
  EXPECT_LT(second.fid_seconds, first.fid_seconds);

  // New test pictures: their shards' CRCs change, so their entries are rebuilt (and the
  // stale ones removed); the train sets' entries stay valid.
  testing::write_eval_dataset(dir, 6, 5, 99);
  const auto third = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_GE(third.fid_real_sets_computed, 2);
  EXPECT_EQ(third.fid_real_sets_cached + third.fid_real_sets_computed, 4);
  EXPECT_NE(third.floor_b.fid, first.floor_b.fid);
  int64_t entries = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "fid_cache")) {
    entries += e.path().extension() == ".pt";
  }
  EXPECT_EQ(entries, 4);
}

// The cache entries of a data set, by file name.
std::vector<fs::path> cache_entries(const std::string& dir) {
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "fid_cache")) {
    if (e.path().extension() == ".pt") entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

void overwrite_bytes(const fs::path& file, size_t offset, const std::string& bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Evaluator, DamagedOrStaleCacheEntriesAreRecomputedNeverUsed) {
  if (!fs::exists(default_inception_path()))
    GTEST_SKIP() << "FID/KID unavailable: no weights at " << default_inception_path();
  const std::string dir = fresh_dataset("fid_damage", 6, 5);
  EvalOptions options;
  options.fid_images = 3;
  options.batch_size = 3;
  options.kid.subsets = 4;
  model::CycleGan net = seeded_net();
  const auto clean = Evaluator(dir, 1, 3, options).evaluate(net);
  ASSERT_EQ(clean.fid_real_sets_computed, 4);
  const std::vector<fs::path> entries = cache_entries(dir);
  ASSERT_EQ(entries.size(), 4u);

  // 8 KiB of zeros inside each entry (the features' bytes), then random bytes over a whole
  // entry: each damaged entry is recomputed, to the clean run's numbers.
  for (const fs::path& entry : entries) {
    ASSERT_GT(fs::file_size(entry), 16384u);
    overwrite_bytes(entry, fs::file_size(entry) / 2, std::string(8192, '\0'));
  }
  const auto repaired = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_EQ(repaired.fid_real_sets_computed, 4);
  EXPECT_EQ(repaired.fid_real_sets_cached, 0);
  for (const auto& [got, want] :
       {std::pair{repaired.fid_a_to_b, clean.fid_a_to_b},
        std::pair{repaired.fid_b_to_a, clean.fid_b_to_a},
        std::pair{repaired.floor_a, clean.floor_a}, std::pair{repaired.floor_b, clean.floor_b}}) {
    EXPECT_NEAR(got.fid, want.fid, 1e-9);
    EXPECT_NEAR(got.kid, want.kid, 1e-9);
  }
  FeatureCache cache(dir, data::read_manifest(dir), InceptionFeatures::kReferenceSha1);
  const data::ImageSet test_b(dir, data::read_manifest(dir), "B", "test");
  const CachedSet set_b{"B", "test", 3, 5, 3, &test_b};
  const fs::path b_entry = cache.path(set_b);
  ASSERT_TRUE(std::find(entries.begin(), entries.end(), b_entry) != entries.end()) << b_entry;
  std::mt19937 bits(5);
  std::string noise(fs::file_size(b_entry), '\0');
  for (char& c : noise) c = static_cast<char>(bits());
  overwrite_bytes(b_entry, 0, noise);
  std::string problem;
  EXPECT_FALSE(cache.load(set_b, &problem).has_value());
  EXPECT_NE(problem.find(b_entry.string()), std::string::npos) << problem;
  EXPECT_NE(problem.find("damaged"), std::string::npos) << problem;
  EXPECT_EQ(problem.find('\n'), std::string::npos) << problem;
  const auto after_noise = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_EQ(after_noise.fid_real_sets_computed, 1);
  EXPECT_NEAR(after_noise.fid_a_to_b.fid, clean.fid_a_to_b.fid, 1e-9);
  EXPECT_TRUE(cache.load(set_b).has_value());  // rewritten whole

  // Test B rewritten in place with other pictures, its shard's manifest entry (size, CRC)
  // left as it was: the stored per-image CRC-32s change the key, so the stale features are
  // not read.
  const std::string manifest = read_file((fs::path(dir) / "manifest.json").string());
  const fs::path kept = fs::path(dir + "_cache");
  fs::remove_all(kept);
  fs::rename(fs::path(dir) / "fid_cache", kept);
  testing::write_eval_dataset(dir, 6, 5, 99);  // a new directory: puts the old cache back
  write_file_atomic((fs::path(dir) / "manifest.json").string(), manifest);
  fs::remove_all(fs::path(dir) / "fid_cache");
  fs::rename(kept, fs::path(dir) / "fid_cache");
  const auto rewritten = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_EQ(rewritten.fid_real_sets_computed, 2);  // test A and test B
  EXPECT_EQ(rewritten.fid_real_sets_cached, 2);    // the train sets did not change
  EXPECT_NE(rewritten.floor_b.fid, clean.floor_b.fid);
}

}  // namespace
}  // namespace cg::eval
