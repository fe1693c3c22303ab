// The streaming Evaluator on small data sets written through the real DatasetWriter: its
// image scores (the checkerboard measure included) equal those of the whole split in memory
// at any batch size; its FID/KID, the do-nothing baseline's and the colorization on the
// input's luma included, equal the Fréchet
// distance of features extracted here from the same picked images; the data set's sets'
// features are cached in the data set and rebuilt when a shard changes or an entry is
// damaged; the report states its protocol (image counts, real set, extractor, KID subsets,
// no spread where the subsets cannot differ); without the Inception weights FID/KID are
// reported unavailable and nothing else changes.
#include "eval/evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/file_util.h"
#include "eval/checkerboard.h"
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
    ASSERT_TRUE(r.colorizes);
    EXPECT_NEAR(r.colorfulness_colorized, colorfulness(colorized), 1e-3);
    EXPECT_NE(r.colorfulness_colorized, r.colorfulness_translated);
    // The checkerboard measure at the seed U-Net's period 8, of every test image.
    ASSERT_EQ(r.checkerboard_period, net->size_multiple());
    ASSERT_EQ(r.checkerboard_period, 8);
    const auto s = [](const torch::Tensor& x) { return checkerboard_spectra(x, 8).sum(0); };
    // Translations: float32 generators, whose last bits depend on the batch.
    const double g_a_vs_b = checkerboard_measure(s(g_a), s(b));
    EXPECT_NEAR(r.checkerboard_a_to_b.translated, g_a_vs_b, 1e-6 * g_a_vs_b);
    EXPECT_NEAR(r.checkerboard_a_to_b.baseline, checkerboard_measure(s(a), s(b)), 1e-9);
    EXPECT_NEAR(r.checkerboard_a_to_b.peak_real, checkerboard_peak(s(b)), 1e-9);
    const double f_b_vs_a = checkerboard_measure(s(f_b), s(a));
    EXPECT_NEAR(r.checkerboard_b_to_a.translated, f_b_vs_a, 1e-6 * f_b_vs_a);
    EXPECT_NEAR(r.checkerboard_b_to_a.baseline, checkerboard_measure(s(b), s(a)), 1e-9);
    EXPECT_NEAR(r.checkerboard_b_to_a.peak_input, checkerboard_peak(s(b)), 1e-9);
    const nlohmann::json j = r.to_json().at("checkerboard");
    EXPECT_EQ(j.at("period"), 8);
    EXPECT_NEAR(j.at("AtoB").at("translated").get<double>(), g_a_vs_b, 1e-6 * g_a_vs_b);
    EXPECT_EQ(j.at("BtoA").at("baseline").get<double>(), r.checkerboard_b_to_a.baseline);
  }
  // A checkpoint's colour gain scales the colorized images' chroma, and is reported.
  const torch::Tensor weaker = image::with_luma(g_a, a, 0.5).clamp(0, 1);
  const EvalReport r = evaluator.evaluate(net, 3, 0.5);
  EXPECT_NEAR(r.colorized_psnr_db, psnr(weaker, b), 1e-4);
  EXPECT_NEAR(r.colorfulness_colorized, colorfulness(weaker), 1e-3);
  EXPECT_LT(r.colorfulness_colorized, 0.6 * colorfulness(colorized));
  EXPECT_EQ(r.to_json().at("colour_gain"), 0.5);
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
  // Test B, test A (also A -> B's baseline input: gray repeated to RGB is what the extractor
  // sees of gray), test B in gray (B -> A's baseline input), train B, train A.
  EXPECT_EQ(first.fid_real_sets_computed, 5);
  EXPECT_EQ(first.fid_real_sets_cached, 0);
  EXPECT_EQ(first.fid_a_to_b.images, 3);
  EXPECT_EQ(first.fid_a_to_b.reference_images, 3);
  EXPECT_EQ(first.baseline_b_to_a.images, 3);
  EXPECT_TRUE(first.fid_subset());
  {  // What the report says of its protocol.
    const nlohmann::json f = first.to_json().at("fid");
    EXPECT_EQ(f.at("AtoB").at("reference_of"), "test split of B");
    EXPECT_EQ(f.at("baseline_BtoA").at("images_of"), "test split of B as A (do nothing)");
    EXPECT_EQ(f.at("AtoB").at("note"), "comparable only at equal N");
    EXPECT_EQ(f.at("test_images_A"), 5);
    EXPECT_FALSE(f.at("whole_test_split").get<bool>());
    EXPECT_EQ(f.at("extractor_sha1"), InceptionFeatures(default_inception_path()).sha1());
    EXPECT_NE(f.at("resize").get<std::string>().find("299x299"), std::string::npos);
    EXPECT_NE(f.at("gray").get<std::string>().find("BT.601"), std::string::npos);
    // 3 features per set, subsets of up to 1000: every subset is the whole of both sets.
    EXPECT_EQ(f.at("AtoB").at("kid_subsets"), 4);
    EXPECT_EQ(f.at("AtoB").at("kid_subset_size"), 3);
    EXPECT_TRUE(f.at("AtoB").at("kid_std").is_null());
    EXPECT_FALSE(first.fid_a_to_b.kid_std.has_value());
  }

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
    // The do-nothing baselines: gray test A (repeated to RGB) against test B, and test B in
    // BT.601 gray against test A.
    FeatureStats gray_a(InceptionFeatures::kFeatureDim), real_a(InceptionFeatures::kFeatureDim),
        gray_b(InceptionFeatures::kFeatureDim);
    const torch::Tensor a_features =
        inception.extract(whole_split(dir, "A", "test", 3).index_select(0, picked));
    gray_a.add(a_features);
    real_a.add(inception.extract(whole_split(dir, "A", "test", 1).index_select(0, picked)));
    gray_b.add(inception.extract(
        image::to_gray(whole_split(dir, "B", "test", 3).index_select(0, picked))));
    const double baseline_ab = frechet_distance(gray_a, real),
                 baseline_ba = frechet_distance(gray_b, real_a);
    EXPECT_NEAR(first.baseline_a_to_b.fid, baseline_ab, 1e-6 * baseline_ab);
    EXPECT_NEAR(first.baseline_b_to_a.fid, baseline_ba, 1e-6 * baseline_ba);
    EXPECT_NE(first.baseline_a_to_b.fid, first.fid_a_to_b.fid);
    // Colorization: G(a)'s colours on a's luma (--keep-luma) against the same real set.
    ASSERT_TRUE(first.fid_colorized);
    FeatureStats colorized(InceptionFeatures::kFeatureDim);
    colorized.add(inception.extract(
        image::with_luma(g_a, whole_split(dir, "A", "test", 1).index_select(0, picked))
            .clamp(0, 1)));
    const double colorized_fid = frechet_distance(colorized, real);
    EXPECT_NEAR(first.colorized_a_to_b.fid, colorized_fid, 1e-6 * colorized_fid);
    EXPECT_NE(first.colorized_a_to_b.fid, first.fid_a_to_b.fid);
    EXPECT_EQ(first.colorized_a_to_b.images, 3);
    EXPECT_EQ(first.to_json().at("fid").at("colorized_AtoB").at("images_of"),
              "G(test split of A) on its luma");
  }

  // The second evaluation reads all four real sets from the cache, to the same numbers.
  const auto second = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_EQ(second.fid_real_sets_cached, 5);
  EXPECT_EQ(second.fid_real_sets_computed, 0);
  EXPECT_EQ(second.fid_a_to_b.fid, first.fid_a_to_b.fid);
  EXPECT_EQ(second.baseline_b_to_a.fid, first.baseline_b_to_a.fid);
  EXPECT_EQ(second.floor_a.kid, first.floor_a.kid);
  EXPECT_LT(second.fid_seconds, first.fid_seconds);

  // New test pictures: their shards' CRCs change, so their entries are rebuilt (and the
  // stale ones removed); the train sets' entries stay valid.
  testing::write_eval_dataset(dir, 6, 5, 99);
  const auto third = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_GE(third.fid_real_sets_computed, 3);
  EXPECT_EQ(third.fid_real_sets_cached + third.fid_real_sets_computed, 5);
  EXPECT_NE(third.floor_b.fid, first.floor_b.fid);
  EXPECT_NE(third.baseline_b_to_a.fid, first.baseline_b_to_a.fid);
  int64_t entries = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "fid_cache")) {
    entries += e.path().extension() == ".pt";
  }
  EXPECT_EQ(entries, 5);
}

TEST(Evaluator, WholeSplitByDefaultOfTranslateAndKidSpreadOnlyWhereSubsetsDiffer) {
  if (!fs::exists(default_inception_path()))
    GTEST_SKIP() << "FID/KID unavailable: no weights at " << default_inception_path();
  const std::string dir = fresh_dataset("fid_whole", 1, 6);  // one train image: no floor
  EvalOptions options;
  options.fid_images = EvalOptions::kWholeSplit;
  options.batch_size = 4;
  options.kid.subsets = 5;
  options.kid.subset_size = 4;
  options.cache = false;
  model::CycleGan net = seeded_net();
  const EvalReport r = Evaluator(dir, 1, 3, options).evaluate(net);
  ASSERT_TRUE(r.fid);
  EXPECT_FALSE(r.fid_floor);
  EXPECT_FALSE(r.fid_subset());
  EXPECT_EQ(r.fid_a_to_b.images, 6);
  EXPECT_EQ(r.fid_b_to_a.reference_images, 6);
  EXPECT_EQ(r.fid_test_images_b, 6);
  EXPECT_TRUE(r.to_json().at("fid").at("whole_test_split").get<bool>());
  // Subsets of 4 of 6 differ: a spread, reported.
  ASSERT_TRUE(r.fid_a_to_b.kid_std.has_value());
  EXPECT_GT(*r.fid_a_to_b.kid_std, 0);
  EXPECT_EQ(r.fid_a_to_b.kid_subset_size, 4);
  EXPECT_EQ(r.to_json().at("fid").at("AtoB").at("kid_std").get<double>(), *r.fid_a_to_b.kid_std);
  EXPECT_NE(r.summary().find("the whole test split"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("do nothing"), std::string::npos) << r.summary();
  EXPECT_THROW(Evaluator(dir, 1, 3, EvalOptions{0, 32, -2}), ConfigError);
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
  ASSERT_EQ(clean.fid_real_sets_computed, 5);
  const std::vector<fs::path> entries = cache_entries(dir);
  ASSERT_EQ(entries.size(), 5u);

  // 8 KiB of zeros inside each entry (the features' bytes), then random bytes over a whole
  // entry: each damaged entry is recomputed, to the clean run's numbers.
  for (const fs::path& entry : entries) {
    ASSERT_GT(fs::file_size(entry), 16384u);
    overwrite_bytes(entry, fs::file_size(entry) / 2, std::string(8192, '\0'));
  }
  const auto repaired = Evaluator(dir, 1, 3, options).evaluate(net);
  EXPECT_EQ(repaired.fid_real_sets_computed, 5);
  EXPECT_EQ(repaired.fid_real_sets_cached, 0);
  for (const auto& [got, want] :
       {std::pair{repaired.fid_a_to_b, clean.fid_a_to_b},
        std::pair{repaired.fid_b_to_a, clean.fid_b_to_a},
        std::pair{repaired.baseline_a_to_b, clean.baseline_a_to_b},
        std::pair{repaired.baseline_b_to_a, clean.baseline_b_to_a},
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
  EXPECT_EQ(rewritten.fid_real_sets_computed, 3);  // test A, test B and test B in gray
  EXPECT_EQ(rewritten.fid_real_sets_cached, 2);    // the train sets did not change
  EXPECT_NE(rewritten.floor_b.fid, clean.floor_b.fid);
}

}  // namespace
}  // namespace cg::eval
