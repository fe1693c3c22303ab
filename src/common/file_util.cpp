#include "common/file_util.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace cg {
namespace {

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  CG_REQUIRE(fd >= 0, FileError, "cannot open ", path, " to sync it: ", os_error_text(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  CG_REQUIRE(rc == 0, FileError, "cannot sync ", path, ": ", os_error_text(err));
}

}  // namespace

void sync_directory(const std::string& dir) { fsync_path(dir, true); }

std::string os_error_text(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

namespace {

std::string host_name() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "localhost";
  std::string name = host;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

}  // namespace

std::string temporary_sibling(const std::string& path, const std::string& kind) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  return (dir / ("." + target.filename().string() + "." + kind + "." + host_name() + "." +
                 std::to_string(::getpid())))
      .string();
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string host = "." + host_name() + ".";
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t last_dot = name.rfind('.');
    if (name.empty() || name[0] != '.' || last_dot == std::string::npos) continue;
    const std::string pid_text = name.substr(last_dot + 1);
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    // ".<name>.<kind>.<host>.<pid>": of this host, of a process that is gone.
    if (last_dot < host.size() || name.compare(last_dot + 1 - host.size(), host.size(), host) != 0)
      continue;
    const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue;
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
    if (!ignored) removed.push_back(entry.path().string());
  }
  return removed;
}

void produce_file_atomic(const std::string& path,
                         const std::function<void(const std::string& tmp_path)>& write_to) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string tmp = temporary_sibling(path, "tmp");
  try {
    write_to(tmp);
    fsync_path(tmp, false);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw FileError(detail::str_cat(
        "cannot write ", path, ": renaming its temporary file failed: ", os_error_text(error)));
  }
  fsync_path(dir.string(), true);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  produce_file_atomic(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CG_REQUIRE(fd >= 0, FileError, "cannot write ", path, ": ", os_error_text(errno));
    size_t at = 0;
    int error = 0;
    while (at < content.size() && error == 0) {
      const ssize_t n = ::write(fd, content.data() + at, content.size() - at);
      if (n > 0) {
        at += static_cast<size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        error = errno;
      } else if (n == 0) {
        error = EIO;
      }
    }
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    if (::close(fd) != 0 && error == 0) error = errno;
    CG_REQUIRE(error == 0, FileError, "cannot write ", path, ": ", os_error_text(error));
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CG_REQUIRE(in, FileError, "cannot read ", path, ": ", std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

uint32_t crc32_of(const std::string& bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = ::crc32(crc, data, chunk);
    data += chunk;
    left -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace cg
