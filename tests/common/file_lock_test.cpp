#include "common/file_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/error.h"
#include "common/file_util.h"

namespace cg {
namespace {
namespace fs = std::filesystem;

std::string lock_file(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cyclegan_file_lock_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return (dir / "run.lock").string();
}

// The pid of a process that has ended (and been reaped).
pid_t ended_process() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

std::string host() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

TEST(FileLock, OneHolderAtATimeNamedToTheOthers) {
  const std::string path = lock_file("flock");
  std::string holder;
  auto first = FileLock::try_acquire(path, &holder);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(read_file(path), lock_holder_line() + "\n");
  EXPECT_NE(lock_holder_line().find("pid " + std::to_string(getpid())), std::string::npos);
  // flock belongs to the open file: a second open, even in this process, is refused.
  EXPECT_EQ(FileLock::try_acquire(path, &holder), nullptr);
  EXPECT_EQ(holder, lock_holder_line());
  first.reset();
  EXPECT_EQ(read_file(path), "");  // released: the holder line is cleared
  auto second = FileLock::try_acquire(path, &holder);
  EXPECT_NE(second, nullptr);
}

TEST(FileLock, AKilledHolderLeavesNoStaleLock) {
  const std::string path = lock_file("killed");
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    std::string ignored;
    auto lock = FileLock::try_acquire(path, &ignored);
    char byte = lock ? 1 : 0;
    (void)!write(ready[1], &byte, 1);
    pause();
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 1);
  std::string holder;
  EXPECT_EQ(FileLock::try_acquire(path, &holder), nullptr);
  EXPECT_NE(holder.find("pid " + std::to_string(child)), std::string::npos) << holder;
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // The file still names the dead holder; the kernel freed its lock.
  EXPECT_NE(read_file(path).find("pid " + std::to_string(child)), std::string::npos);
  EXPECT_NE(FileLock::try_acquire(path, &holder), nullptr);
  close(ready[0]);
  close(ready[1]);
}

TEST(FileLock, WithoutFlockTheHolderLineDecides) {
  const std::string path = lock_file("content");
  std::string holder;
  // A live process of this host (our parent) holds it; a process of another host is taken
  // to hold it, as its liveness cannot be checked from here.
  const std::string live =
      "host " + host() + ", pid " + std::to_string(getppid()) + ", started 2026-01-01 00:00:00 UTC";
  const std::string remote =
      "host elsewhere-" + host() + ", pid 1, started 2026-01-01 00:00:00 UTC";
  for (const std::string& line : {live, remote}) {
    write_file_atomic(path, line + "\n");
    EXPECT_EQ(FileLock::try_acquire(path, &holder, FileLock::Mode::kContent), nullptr) << line;
    EXPECT_EQ(holder, line);
  }
  // A process of this host that has ended does not.
  write_file_atomic(path, "host " + host() + ", pid " + std::to_string(ended_process()) +
                              ", started 2026-01-01 00:00:00 UTC\n");
  auto lock = FileLock::try_acquire(path, &holder, FileLock::Mode::kContent);
  ASSERT_NE(lock, nullptr);
  EXPECT_EQ(read_file(path), lock_holder_line() + "\n");
  lock.reset();
  EXPECT_NE(FileLock::try_acquire(path, &holder, FileLock::Mode::kContent), nullptr);
}

TEST(FileLock, AFileThatCannotBeMadeIsAFileError) {
  EXPECT_THROW(FileLock::try_acquire("/nonexistent/cyclegan/run.lock", nullptr), FileError);
}

}  // namespace
}  // namespace cg
