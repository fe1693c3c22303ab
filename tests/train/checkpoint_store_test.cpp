#include "train/checkpoint_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_util.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {
namespace fs = std::filesystem;

torch::serialize::OutputArchive archive_of(float value) {
  torch::serialize::OutputArchive archive;
  archive.write("x", torch::full({16}, value));
  return archive;
}

TEST(CheckpointStore, KeepsTheNewestAndListsThemNewestFirst) {
  std::string dir = testing::fresh_dir("store_keep");
  CheckpointStore store(dir, 2);
  for (int step : {5, 10, 15}) {
    auto archive = archive_of(static_cast<float>(step));
    store.save(step, archive, {{"step", step}});
  }
  auto paths = store.list();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(fs::path(paths[0]).filename(), "ckpt_00000015.pt");
  EXPECT_EQ(fs::path(paths[1]).filename(), "ckpt_00000010.pt");
  EXPECT_FALSE(fs::exists(fs::path(dir) / "ckpt_00000005.json"));
  torch::serialize::InputArchive in;
  EXPECT_EQ(store.load(paths[0], in)["step"], 15);
  torch::Tensor x;
  in.read("x", x);
  EXPECT_EQ(x[0].item<float>(), 15.0f);
}

TEST(CheckpointStore, TheBestCheckpointIsKeptOutOfTheRotation) {
  std::string dir = testing::fresh_dir("store_best");
  CheckpointStore store(dir, 1);
  auto first = archive_of(3.0f);
  const std::string best = store.save_best(3, first, {{"step", 3}, {"value", 9.5}});
  EXPECT_EQ(best, store.best_path());
  EXPECT_EQ(fs::path(best).filename(), "ckpt_best.pt");
  for (int step : {4, 5, 6}) {
    auto archive = archive_of(static_cast<float>(step));
    store.save(step, archive, {{"step", step}});
  }
  // Rotation keeps one numbered checkpoint and never touches the best; list() (and so
  // --resume auto) does not see it.
  ASSERT_EQ(store.list().size(), 1u);
  EXPECT_EQ(fs::path(store.list()[0]).filename(), "ckpt_00000006.pt");
  EXPECT_EQ(store.verify(best)["value"], 9.5);

  // A new best replaces it in place, manifest and all.
  auto second = archive_of(7.0f);
  store.save_best(7, second, {{"step", 7}, {"value", 8.25}});
  torch::serialize::InputArchive in;
  EXPECT_EQ(store.load(best, in)["value"], 8.25);
  torch::Tensor x;
  in.read("x", x);
  EXPECT_EQ(x[0].item<float>(), 7.0f);
  EXPECT_EQ(store.list().size(), 1u);
}

TEST(CheckpointStore, DetectsTruncationCorruptionAndMissingManifest) {
  std::string dir = testing::fresh_dir("store_bad");
  CheckpointStore store(dir, 5);
  auto archive = archive_of(1.0f);
  std::string path = store.save(1, archive, {});
  auto size = fs::file_size(path);

  testing::flip_byte(path, static_cast<std::streamoff>(size / 2));
  try {
    store.verify(path);
    FAIL() << "a flipped byte must be detected";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("CRC-32"), std::string::npos) << e.what();
  }
  fs::resize_file(path, size - 10);
  EXPECT_THROW(store.verify(path), FileError);
  fs::remove(fs::path(path).replace_extension(".json"));
  try {
    store.verify(path);
    FAIL() << "a checkpoint without manifest must be refused";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("no manifest"), std::string::npos) << e.what();
  }
}

TEST(CheckpointStore, ACorruptNewestCheckpointPushesNoGoodOneOut) {
  std::string dir = testing::fresh_dir("store_rotation");
  CheckpointStore store(dir, 2);
  std::vector<std::string> paths;
  for (int step : {1, 2, 3}) {
    auto archive = archive_of(static_cast<float>(step));
    paths.push_back(store.save(step, archive, {{"step", step}}));
  }
  // Step 3's file is damaged on disk (the same size: only the CRC can tell).
  testing::flip_byte(paths[2], static_cast<std::streamoff>(fs::file_size(paths[2]) / 2));
  auto archive = archive_of(4.0f);
  store.save(4, archive, {{"step", 4}});
  // Two checkpoints that verify are kept (4 and 2); the damaged 3 is newer than the
  // oldest of them and stays for inspection; 1 goes.
  std::vector<std::string> names;
  for (const auto& path : store.list()) names.push_back(fs::path(path).filename().string());
  EXPECT_EQ(names,
            (std::vector<std::string>{"ckpt_00000004.pt", "ckpt_00000003.pt", "ckpt_00000002.pt"}));
  EXPECT_NO_THROW(store.verify(paths[1]));
  EXPECT_THROW(store.verify(paths[2]), FileError);
  // The next save counts 5 and 4: the damaged file is pruned with the rest.
  auto fifth = archive_of(5.0f);
  store.save(5, fifth, {{"step", 5}});
  names.clear();
  for (const auto& path : store.list()) names.push_back(fs::path(path).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"ckpt_00000005.pt", "ckpt_00000004.pt"}));
}

TEST(CheckpointStore, TheFirstSaveRemovesTemporariesOfKilledWriters) {
  std::string dir = testing::fresh_dir("store_stale");
  fs::create_directories(dir);
  // What a writer on this host that is gone leaves: a temporary named after its pid. The
  // pid of a process that has exited (our child) is not running any more.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string own = temporary_sibling((fs::path(dir) / "ckpt_00000001.pt").string(), "tmp");
  const std::string stale = own.substr(0, own.rfind('.') + 1) + std::to_string(child);
  std::ofstream(stale) << "half a checkpoint";
  ASSERT_TRUE(fs::exists(stale));
  CheckpointStore store(dir, 2);
  auto archive = archive_of(1.0f);
  store.save(1, archive, {});
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(store.list().size(), 1u);
}

}  // namespace
}  // namespace cg::train
