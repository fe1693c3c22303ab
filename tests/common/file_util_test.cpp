#include "common/file_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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
  EXPECT_THROW(produce_file_atomic(path,
                                   [](const std::string& tmp) {
                                     write_file_atomic(tmp, "partial");
                                     throw FileError("disk full");
                                   }),
               FileError);
  EXPECT_EQ(read_file(path), "kept");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(RemoveStaleTemporaries, RemovesWhatDeadProcessesOfThisHostLeft) {
  fs::path dir = temp_dir("stale");
  // A pid that is free: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  auto of_pid = [](const std::string& name, pid_t pid) {
    return name.substr(0, name.rfind('.') + 1) + std::to_string(pid);
  };
  const std::string alive = temporary_sibling((dir / "ckpt.pt").string(), "tmp");
  const std::string dead = of_pid(alive, child);
  const std::string staging = of_pid(temporary_sibling((dir / "set").string(), "building"), child);
  const std::string other_host = (dir / ".ckpt.pt.tmp.otherhost.1").string();
  const std::string not_ours = (dir / ".hidden.notes").string();
  for (const auto& path : {alive, dead, other_host, not_ours}) write_file_atomic(path, "x");
  fs::create_directories(staging + "/inner");
  const std::vector<std::string> removed = remove_stale_temporaries(dir.string());
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other_host));
  EXPECT_TRUE(fs::exists(not_ours));
}

TEST(OsErrorText, ReadsInTheMiddleOfAMessage) {
  EXPECT_EQ(os_error_text(ENOSPC), "no space left on device");
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
