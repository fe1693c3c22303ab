#include "common/file_util.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"

namespace cg {
namespace {
namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("cyclegan_file_util_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(WriteFileAtomic, ReplacesContentAndLeavesNoTemporary) {
  fs::path dir = temp_dir("replace");
  std::string path = (dir / "a.txt").string();
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file(path), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(ProduceFileAtomic, FailedWriterKeepsTheOldFile) {
  fs::path dir = temp_dir("failed");
  std::string path = (dir / "a.txt").string();
  write_file_atomic(path, "kept");
  EXPECT_THROW(produce_file_atomic(path, [](const std::string& tmp) {
                 write_file_atomic(tmp, "partial");
                 throw FileError("disk full");
               }),
               FileError);
  EXPECT_EQ(read_file(path), "kept");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(ReadFile, MissingFileNamesThePath) {
  try {
    read_file("/nonexistent/cyclegan.bin");
    FAIL() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cyclegan.bin"), std::string::npos);
  }
}

TEST(Crc32, MatchesTheStandardCheckValue) { EXPECT_EQ(crc32_of("123456789"), 0xCBF43926u); }

}  // namespace
}  // namespace cg
