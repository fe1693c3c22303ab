#pragma once
// One owner per directory: an exclusive lock on a file, held for the life of a FileLock and
// released by the kernel when the process dies (a SIGKILL leaves no stale lock).
//
// The lock is flock(2) on the file. Where the file system refuses flock (some NFS mounts
// answer ENOLCK or EOPNOTSUPP), the file's content decides instead: it names the holder
// (host, pid, start time), and a holder on this host whose process is gone no longer
// holds it; a holder on another host cannot be checked from here and is taken to hold it.
// The file is left in place when the lock is released (a reader may be looking at it);
// its content is cleared.
#include <memory>
#include <string>

namespace cg {

class FileLock {
 public:
  /// How the lock is taken: kAuto is flock with the content check as the fallback where
  /// flock is refused; kContent is the content check alone (for tests of the fallback).
  enum class Mode { kAuto, kContent };

  /// Takes the lock on `path` (created if missing) and writes this process's holder line
  /// ("host H, pid P, started YYYY-MM-DD HH:MM:SS UTC") into it. Returns nullptr when another
  /// process holds it and sets `*held_by` to its holder line (or "an unknown process" when
  /// the file says nothing). Throws FileError naming `path` when it cannot be opened,
  /// created or written.
  static std::unique_ptr<FileLock> try_acquire(const std::string& path, std::string* held_by,
                                               Mode mode = Mode::kAuto);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
};

/// This process's holder line, as FileLock writes it.
std::string lock_holder_line();

}  // namespace cg
