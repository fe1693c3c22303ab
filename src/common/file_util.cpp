#include "common/file_util.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

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
  CG_REQUIRE(fd >= 0, FileError, "cannot open ", path, " to sync it: ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  CG_REQUIRE(rc == 0, FileError, "fsync of ", path, " failed: ", std::strerror(err));
}

}  // namespace

void produce_file_atomic(const std::string& path,
                         const std::function<void(const std::string& tmp_path)>& write_to) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp." +
                            std::to_string(::getpid())))
                        .string();
  try {
    write_to(tmp);
    fsync_path(tmp, false);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw FileError(detail::str_cat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  }
  fsync_path(dir.string(), true);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  produce_file_atomic(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    CG_REQUIRE(out, FileError, "cannot create ", tmp, ": ", std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    CG_REQUIRE(out, FileError, "cannot write ", tmp, " (disk full?)");
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
