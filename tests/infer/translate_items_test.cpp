// The work list of a translation (infer/translate_items.h): which inputs, which outputs,
// which process translates which, and when an output already there counts as done.
#include "infer/translate_items.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/image_file.h"

namespace cg::infer {
namespace {
namespace fs = std::filesystem;

class TranslateItems : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("cyclegan_items_") + info->name() + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A 4x6 RGB PNG at `relative` under the test folder.
  std::string picture(const std::string& relative, int64_t height = 4, int64_t width = 6) const {
    const fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    image::Image im;
    im.height = height;
    im.width = width;
    im.channels = 3;
    im.pixels.assign(static_cast<size_t>(height * width * 3), 128);
    image::write_png(path.string(), im);
    return path.string();
  }
  fs::path dir_;
};

TEST_F(TranslateItems, FolderKeepsItsSubfoldersAndStems) {
  picture("in/b.png");
  picture("in/day/x.png");
  picture("in/day/deep/y.png");
  picture("in/a.png");
  picture("in/.hidden/z.png");  // hidden folders are skipped
  std::ofstream((dir_ / "in/notes.txt").string()) << "not an image";
  const auto items = folder_items((dir_ / "in").string(), (dir_ / "out").string());
  std::vector<std::string> outputs;
  for (const auto& item : items) {
    outputs.push_back(item.output);
    EXPECT_TRUE(fs::exists(item.path)) << item.path;
    EXPECT_EQ(item.index, -1);
  }
  EXPECT_EQ(outputs, (std::vector<std::string>{"a.png", "b.png", "day/deep/y.png", "day/x.png"}));
}

TEST_F(TranslateItems, TwoInputsForOneOutputAreRefused) {
  picture("in/day/x.png");
  fs::copy_file(dir_ / "in/day/x.png", dir_ / "in/day/x.jpg");  // same stem, same folder
  try {
    folder_items((dir_ / "in").string(), (dir_ / "out").string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("would both be written as day/x.png"), std::string::npos)
        << e.what();
  }
}

TEST_F(TranslateItems, OutputInsideTheInputIsRefused) {
  picture("in/a.png");
  for (const char* out : {"in", "in/out", "in/./sub/../out"}) {
    EXPECT_THROW(folder_items((dir_ / "in").string(), (dir_ / out).string()), ConfigError) << out;
  }
  EXPECT_NO_THROW(folder_items((dir_ / "in").string(), (dir_ / "input-translated").string()));
  EXPECT_THROW(folder_items((dir_ / "empty").string(), (dir_ / "out").string()), FileError);
  fs::create_directories(dir_ / "empty");
  EXPECT_THROW(folder_items((dir_ / "empty").string(), (dir_ / "out").string()), ConfigError);
}

TEST(TranslateItemBlocks, EveryItemOnceInTheSameBlocksAtAnyWorldSize) {
  for (int64_t items : {0, 1, 7, 8, 50, 51}) {
    for (int world = 1; world <= 4; ++world) {
      std::vector<int> owner(static_cast<size_t>(items), -1);
      for (int rank = 0; rank < world; ++rank) {
        for (auto [first, last] : blocks_of_rank(items, 8, rank, world)) {
          EXPECT_EQ(first % 8, 0) << "a block starts off the grid of 8";
          EXPECT_EQ(last, std::min<int64_t>(items, first + 8));
          for (int64_t i = first; i < last; ++i) {
            EXPECT_EQ(owner[size_t(i)], -1) << "item " << i << " twice";
            owner[size_t(i)] = rank;
          }
        }
      }
      for (int64_t i = 0; i < items; ++i)
        EXPECT_EQ(owner[size_t(i)], (i / 8) % world) << items << " items, world " << world;
    }
  }
}

TEST_F(TranslateItems, AnOutputIsDoneOnlyWhenItDecodesAtItsSize) {
  const std::string good = picture("out/good.png", 4, 6);
  EXPECT_TRUE(output_complete(good, 4, 6, 3));
  EXPECT_FALSE(output_complete(good, 4, 7, 3));  // another size
  EXPECT_FALSE(output_complete(good, 4, 6, 1));  // other channels
  EXPECT_FALSE(output_complete((dir_ / "out/missing.png").string(), 4, 6, 3));
  // Truncated: the last chunks gone.
  const std::string cut = picture("out/cut.png", 40, 60);
  fs::resize_file(cut, fs::file_size(cut) - 20);
  EXPECT_FALSE(output_complete(cut, 40, 60, 3));
  fs::create_directories(dir_ / "out/folder.png");
  EXPECT_FALSE(output_complete((dir_ / "out/folder.png").string(), 4, 6, 3));
}

TEST(TranslateItemNames, DataSetImagesAreNamedByDomainAndIndex) {
  const auto items = dataset_items("B", 3);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].output, "B_00002.png");
  EXPECT_EQ(items[2].index, 2);
  EXPECT_TRUE(items[2].path.empty());
}

}  // namespace
}  // namespace cg::infer
