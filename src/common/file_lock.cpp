#include "common/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "common/error.h"
#include "common/file_util.h"

namespace cg {
namespace {

std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "unknown";
  return host;
}

// The whole content of the open file, or "" when it cannot be read.
std::string read_all(int fd) {
  std::string content;
  char buffer[512];
  if (lseek(fd, 0, SEEK_SET) != 0) return content;
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) content.append(buffer, n);
  while (!content.empty() && (content.back() == '\n' || content.back() == '\0')) content.pop_back();
  return content;
}

void write_all(int fd, const std::string& path, const std::string& content) {
  CG_REQUIRE(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, FileError, "cannot write ", path,
             ": ", os_error_text(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    CG_REQUIRE(n > 0 || errno == EINTR, FileError, "cannot write ", path, ": ",
               os_error_text(errno));
    if (n > 0) done += static_cast<size_t>(n);
  }
  fsync(fd);
}

// Whether the holder line `content` (as lock_holder_line writes it) names a process that
// may still hold the lock: any process of another host, a live one of this host.
bool holder_alive(const std::string& content) {
  if (content.empty()) return false;
  const std::string host_key = "host ", pid_key = ", pid ";
  const size_t h = content.find(host_key), p = content.find(pid_key);
  if (h != 0 || p == std::string::npos) return true;  // not ours to judge: keep out
  const std::string host = content.substr(host_key.size(), p - host_key.size());
  if (host != host_name()) return true;
  const long pid = std::strtol(content.c_str() + p + pid_key.size(), nullptr, 10);
  if (pid <= 0) return true;
  if (pid == getpid()) return false;
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string lock_holder_line() {
  static const std::string line = [] {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    std::ostringstream out;
    out << "host " << host_name() << ", pid " << getpid() << ", started " << when;
    return out.str();
  }();
  return line;
}

std::unique_ptr<FileLock> FileLock::try_acquire(const std::string& path, std::string* held_by,
                                                Mode mode) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  CG_REQUIRE(fd >= 0, FileError, "cannot open the lock file ", path, ": ", os_error_text(errno));
  bool by_content = mode == Mode::kContent;
  if (!by_content) {
    int rc;
    do rc = flock(fd, LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno == EWOULDBLOCK) {
      const std::string holder = read_all(fd);
      close(fd);
      if (held_by != nullptr) *held_by = holder.empty() ? "an unknown process" : holder;
      return nullptr;
    }
    // ENOLCK, EOPNOTSUPP, ...: a file system without flock.
    by_content = rc != 0;
  }
  if (by_content) {
    const std::string holder = read_all(fd);
    if (holder_alive(holder)) {
      close(fd);
      if (held_by != nullptr) *held_by = holder;
      return nullptr;
    }
  }
  try {
    write_all(fd, path, lock_holder_line() + "\n");
  } catch (...) {
    close(fd);
    throw;
  }
  return std::unique_ptr<FileLock>(new FileLock(path, fd));
}

FileLock::~FileLock() {
  if (ftruncate(fd_, 0) == 0) fsync(fd_);
  close(fd_);  // releases the flock
}

}  // namespace cg
