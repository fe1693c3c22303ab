#include "data/shard_source.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "dataset_fixture.h"

namespace cg::data {
namespace {

using testing::DomainSpec;
using testing::make_dataset;
using testing::temp_dir;

// Raw pixel values (range [0, 255]) at the stored size, so each image's index can be read
// back from its first two pixels.
LoaderOptions raw_options(int64_t batch, int64_t channels_a = 3, int64_t channels_b = 3) {
  LoaderOptions o;
  o.batch_size = batch;
  o.seed = 11;
  o.channels_a = channels_a;
  o.channels_b = channels_b;
  o.lo = 0.0f;
  o.hi = 255.0f;
  return o;
}

std::vector<int64_t> indices(const torch::Tensor& images) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < images.size(0); ++i) {
    out.push_back(std::lround(images[i][0][0][0].item<float>()) +
                  256 * std::lround(images[i][0][0][1].item<float>()));
  }
  return out;
}

TEST(ShardSource, AnEpochDrawsEveryImageOfTheLargerDomainOnce) {
  const std::string dir = temp_dir("source_epoch");
  make_dataset(dir, {12, 6, 3}, {7, 6, 3});
  ShardSource source(dir, raw_options(3));
  ASSERT_EQ(source.batches_per_epoch(), 4);
  std::vector<int64_t> a, b;
  for (int k = 0; k < 4; ++k) {
    UnpairedBatch batch = source.next();
    ASSERT_EQ(batch.a.sizes(), (std::vector<int64_t>{3, 3, 6, 6}));
    for (int64_t i : indices(batch.a)) a.push_back(i);
    for (int64_t i : indices(batch.b)) b.push_back(i);
  }
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 12u);
  // The smaller domain runs through all 7 images, then starts a fresh pass.
  EXPECT_EQ(std::set<int64_t>(b.begin(), b.begin() + 7).size(), 7u);
  EXPECT_EQ(source.position().epoch, 1);
  EXPECT_EQ(source.position().batch, 0);
  std::vector<int64_t> a2;
  for (int k = 0; k < 4; ++k) {
    for (int64_t i : indices(source.next().a)) a2.push_back(i);
  }
  EXPECT_NE(a, a2) << "every epoch is reshuffled";
}

TEST(ShardSource, TwoRanksReadTheSlicesOfWhatOneRankReadsWithTheCombinedBatch) {
  const std::string dir = temp_dir("source_ranks");
  make_dataset(dir, {10, 8, 3}, {9, 8, 1});
  auto options = [](int rank, int world, int64_t batch) {
    LoaderOptions o = raw_options(batch, /*channels_a=*/3, /*channels_b=*/1);
    o.rank = rank;
    o.world = world;
    o.crop_size = 6;
    o.flip = true;
    return o;
  };
  ShardSource one(dir, options(0, 1, 4));
  ShardSource r0(dir, options(0, 2, 2)), r1(dir, options(1, 2, 2));
  ASSERT_EQ(one.batches_per_epoch(), r0.batches_per_epoch());
  for (int k = 0; k < 6; ++k) {  // three epochs of two batches
    UnpairedBatch whole = one.next(), first = r0.next(), second = r1.next();
    EXPECT_TRUE(torch::equal(whole.a, torch::cat({first.a, second.a}))) << "batch " << k;
    EXPECT_TRUE(torch::equal(whole.b, torch::cat({first.b, second.b}))) << "batch " << k;
  }
}

TEST(ShardSource, SeekContinuesWithTheVeryBatchesThatWouldHaveCome) {
  const std::string dir = temp_dir("source_seek");
  make_dataset(dir, {9, 8, 3}, {9, 8, 3});
  LoaderOptions o = raw_options(2);
  o.crop_size = 5;
  o.flip = true;
  ShardSource straight(dir, o);
  std::vector<UnpairedBatch> expected;
  for (int k = 0; k < 7; ++k) expected.push_back(straight.next());
  ShardSource resumed(dir, o);
  resumed.next();        // something already in flight must not leak into the restored stream
  resumed.seek({1, 1});  // 4 batches per epoch: batch 5 overall
  EXPECT_EQ(resumed.position().epoch, 1);
  EXPECT_EQ(resumed.position().batch, 1);
  for (int k = 5; k < 7; ++k) {
    UnpairedBatch batch = resumed.next();
    EXPECT_TRUE(torch::equal(batch.a, expected[size_t(k)].a)) << "batch " << k;
    EXPECT_TRUE(torch::equal(batch.b, expected[size_t(k)].b)) << "batch " << k;
  }
  EXPECT_THROW(resumed.seek({0, 4}), FileError);
}

TEST(ShardSource, CropsAndFlipsAreRandomButSeeded) {
  const std::string dir = temp_dir("source_augment");
  make_dataset(dir, {4, 8, 3}, {4, 8, 3});
  LoaderOptions o = raw_options(4);
  o.crop_size = 4;
  o.flip = true;
  UnpairedBatch first = ShardSource(dir, o).next();
  UnpairedBatch again = ShardSource(dir, o).next();
  EXPECT_TRUE(torch::equal(first.a, again.a));
  o.seed += 1;
  UnpairedBatch other = ShardSource(dir, o).next();
  EXPECT_FALSE(torch::equal(first.a, other.a));
  EXPECT_EQ(first.a.size(2), 4);
}

TEST(ShardSource, ChannelsAreConvertedToWhatTheModelTakes) {
  const std::string dir = temp_dir("source_channels");
  make_dataset(dir, {2, 4, 3}, {2, 4, 1});
  LoaderOptions o = raw_options(2, /*channels_a=*/1, /*channels_b=*/3);
  ShardSource source(dir, o);
  UnpairedBatch batch = source.next();
  ASSERT_EQ(batch.a.size(1), 1);
  ASSERT_EQ(batch.b.size(1), 3);
  // A is the BT.601 luma of the stored colour; B repeats the stored gray.
  std::vector<uint8_t> raw(4 * 4 * 3);
  source.images_a().read(indices(batch.a)[0] == 0 ? 0 : 1, raw.data());
  const int64_t p = 2 * 4 + 3;  // pixel (2, 3)
  const float luma = 0.299f * raw[p * 3] + 0.587f * raw[p * 3 + 1] + 0.114f * raw[p * 3 + 2];
  EXPECT_NEAR(batch.a[0][0][2][3].item<float>(), luma, 1e-3);
  EXPECT_TRUE(torch::equal(batch.b[0][0], batch.b[0][2]));
}

TEST(ShardSource, ValuesAreInTheModelRange) {
  const std::string dir = temp_dir("source_range");
  make_dataset(dir, {4, 8, 3}, {4, 8, 3});
  LoaderOptions o = raw_options(4);
  o.lo = -1.0f;
  o.hi = 1.0f;
  UnpairedBatch batch = ShardSource(dir, o).next();
  EXPECT_GE(batch.a.min().item<float>(), -1.0f);
  EXPECT_LE(batch.a.max().item<float>(), 1.0f);
  EXPECT_LT(batch.a.min().item<float>(), -0.9f);
}

TEST(ShardSource, AReaderErrorReachesTheTrainerInsteadOfHanging) {
  const std::string dir = temp_dir("source_error");
  make_dataset(dir, {4, 8, 3}, {4, 8, 3});
  const std::string shard = dir + "/train_B_00000.h5";
  {  // Corrupt the stored checksums of domain B.
    h5::Handle file(H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    h5::Handle crc(H5Dopen2(file.get(), "checksums", H5P_DEFAULT), H5Dclose);
    const uint32_t zeros[4] = {0, 0, 0, 0};
    ASSERT_GE(H5Dwrite(crc.get(), H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros), 0);
  }
  ShardSource source(dir, raw_options(2));
  try {
    source.next();
    FAIL() << "a damaged image was served";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(shard + ": image"), std::string::npos) << e.what();
  }
}

TEST(ShardSource, ImpossibleSettingsAreConfigErrors) {
  const std::string dir = temp_dir("source_config");
  make_dataset(dir, {4, 8, 3}, {4, 8, 3});
  LoaderOptions o = raw_options(2);
  o.crop_size = 16;
  EXPECT_THROW(ShardSource(dir, o), ConfigError);
  o = raw_options(5);
  EXPECT_THROW(ShardSource(dir, o), ConfigError);
}

TEST(ShardSource, PrefetchStaysWithinItsBound) {
  const std::string dir = temp_dir("source_prefetch");
  make_dataset(dir, {16, 4, 3}, {16, 4, 3});
  LoaderOptions o = raw_options(1);
  o.prefetch = 3;
  o.threads = 2;
  ShardSource source(dir, o);
  for (int i = 0; i < 200 && source.queued() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(source.queued(), 3);
  source.next();
  EXPECT_LE(source.queued(), 3);
}

}  // namespace
}  // namespace cg::data
