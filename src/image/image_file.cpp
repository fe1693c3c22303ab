#include "image/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/error.h"
#include "common/file_util.h"
#include "image/jpeg.h"
#include "image/png.h"

namespace cg::image {
namespace {
namespace fs = std::filesystem;

// For "not a JPEG or PNG" messages only.
std::string other_format(const uint8_t* data, size_t size) {
  struct Signature {
    const char* bytes;
    size_t length;
    const char* name;
  };
  static const Signature kSignatures[] = {{"GIF8", 4, "GIF"},       {"BM", 2, "BMP"},
                                          {"II*\0", 4, "TIFF"},     {"MM\0*", 4, "TIFF"},
                                          {"RIFF", 4, "RIFF/WebP"}, {"8BPS", 4, "PSD"}};
  for (const Signature& s : kSignatures) {
    if (size >= s.length && std::memcmp(data, s.bytes, s.length) == 0) {
      return detail::str_cat(": looks like ", s.name);
    }
  }
  return "";
}

struct FileDescriptor {
  int fd = -1;
  ~FileDescriptor() {
    if (fd >= 0) close(fd);
  }
};

std::string read_image_file(const std::string& path) {
  FileDescriptor file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  CG_REQUIRE(file.fd >= 0, FileError, "cannot read image ", path, ": ", std::strerror(errno));
  struct stat st {};
  CG_REQUIRE(fstat(file.fd, &st) == 0, FileError, "cannot read image ", path, ": ",
             std::strerror(errno));
  CG_REQUIRE(S_ISREG(st.st_mode), FileError, "cannot read image ", path, ": not a regular file");
  CG_REQUIRE(st.st_size > 0, FileError, "cannot decode image ", path, ": empty file");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = read(file.fd, &bytes[done], bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    CG_REQUIRE(got >= 0, FileError, "cannot read image ", path, ": ", std::strerror(errno));
    if (got == 0) break;  // the file shrank while we read it; decoding judges what is left
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
  return bytes;
}

bool has_image_extension(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

}  // namespace

Image decode_image(const std::string& path) {
  const std::string bytes = read_image_file(path);
  return decode_image_memory(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

Image decode_image_memory(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_pixels) {
  CG_REQUIRE(size > 0 && data != nullptr, FileError, "cannot decode image ", name, ": empty file");
  if (is_png(data, size)) return decode_png(data, size, name, max_pixels);
  if (is_jpeg(data, size)) return decode_jpeg(data, size, name, max_pixels);
  throw FileError(detail::str_cat("cannot decode image ", name, ": not a JPEG or PNG",
                                  other_format(data, size)));
}

void write_png(const std::string& path, const Image& image) {
  write_file_atomic(path, encode_png(image));
}

std::vector<std::string> list_images(const std::string& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  CG_REQUIRE(status.type() != fs::file_type::not_found, FileError, "image folder ", dir,
             " does not exist");
  CG_REQUIRE(!ec, FileError, "cannot read image folder ", dir, ": ", ec.message());
  CG_REQUIRE(fs::is_directory(status), FileError, "image folder ", dir, " is not a directory");
  std::vector<std::pair<std::string, std::string>> found;  // (name, path)
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !has_image_extension(name)) continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;  // subfolders, broken links, devices
    found.emplace_back(name, it->path().string());
  }
  CG_REQUIRE(!ec, FileError, "cannot list image folder ", dir, ": ", ec.message());
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  paths.reserve(found.size());
  for (auto& entry : found) paths.push_back(std::move(entry.second));
  return paths;
}

std::vector<std::string> list_images_recursive(const std::string& dir) {
  list_images(dir);  // the same errors for a missing or unreadable top folder
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (name.empty() || name[0] == '.') {
      if (it->is_directory(type_ec)) it.disable_recursion_pending();
      continue;
    }
    if (!has_image_extension(name) || !it->is_regular_file(type_ec)) continue;
    found.push_back(it->path().lexically_relative(dir).generic_string());
  }
  CG_REQUIRE(!ec, FileError, "cannot list image folder ", dir, ": ", ec.message());
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace cg::image
