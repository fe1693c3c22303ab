#include "image.h"

#include <fcntl.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "common/error.h"
#include "stb_guard.h"

namespace cg::tools {
namespace {
namespace fs = std::filesystem;

void check_image(const Image& image, const char* what) {
  const bool valid =
      image.height > 0 && image.width > 0 && image.channels >= 1 && image.channels <= 4 &&
      image.height <= INT_MAX / image.width &&
      image.pixels.size() == static_cast<size_t>(image.height * image.width * image.channels);
  if (!valid) {
    throw std::invalid_argument(detail::str_cat(
        what,
        " expects an image with height, width > 0, 1 to 4 channels and height * width * "
        "channels pixels, got ",
        image.height, "x", image.width, "x", image.channels, " with ", image.pixels.size(),
        " bytes"));
  }
}

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

// stb_image sets its failure reason only on some error paths and never clears it, and
// stbi_load probes for PNG first whatever the format. So after a failed load the reason may
// be left over from an earlier call or be the PNG probe's "bad png sig". Planting "unknown
// image type" before the load (stbi_info of one byte sets it) and ignoring both afterwards
// keeps a stale reason out of the message.
void plant_failure_reason() {
  static const stbi_uc kByte = 0;
  int x = 0, y = 0, c = 0;
  stbi_info_from_memory(&kByte, 1, &x, &y, &c);
}

// For an unknown PNG chunk stb writes the chunk's 4 type bytes into "XXXX PNG chunk not
// known": a NUL among them cuts the reason short ("IDA"), other bytes may not print. stb's
// own reasons are at least 5 characters long.
std::string fresh_failure_reason() {
  const char* reason = stbi_failure_reason();
  if (reason == nullptr || std::strcmp(reason, "unknown image type") == 0 ||
      std::strcmp(reason, "bad png sig") == 0) {
    return "";
  }
  std::string text(reason);
  if (text.size() < 5) return "";
  for (char& ch : text) {
    if (!std::isprint(static_cast<unsigned char>(ch))) ch = '?';
  }
  return detail::str_cat(" (stb_image: ", text, ")");
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
  CG_REQUIRE(st.st_size <= INT_MAX, FileError, "cannot decode image ", path, ": ", st.st_size,
             " bytes, more than the 2 GiB stb_image reads");
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
  CG_REQUIRE(size <= INT_MAX, FileError, "cannot decode image ", name, ": ", size,
             " bytes, more than the 2 GiB stb_image reads");
  const bool png = is_png(data, size);
  CG_REQUIRE(png || is_jpeg(data, size), FileError, "cannot decode image ", name,
             ": not a JPEG or PNG", other_format(data, size));
  const char* format = png ? "PNG" : "JPEG";
  if (!png) check_jpeg_huffman_tables(data, size, name);

  const int length = static_cast<int>(size);
  int width = 0, height = 0, file_channels = 0;
  plant_failure_reason();
  CG_REQUIRE(stbi_info_from_memory(data, length, &width, &height, &file_channels) != 0, FileError,
             "cannot decode image ", name, ": corrupt or truncated ", format, " header",
             fresh_failure_reason());
  const int64_t limit = std::min(max_pixels, kMaxImagePixels);
  CG_REQUIRE(width > 0 && height > 0 && width <= kMaxImageSide && height <= kMaxImageSide &&
                 int64_t{width} * height <= limit,
             FileError, "cannot decode image ", name, ": ", width, "x", height,
             " pixels is larger than the limit of ", kMaxImageSide, " a side and ", limit,
             " in all");
  if (png) check_png_stream(data, size, name);

  const int channels = file_channels <= 2 ? 1 : 3;
  plant_failure_reason();
  int got_width = 0, got_height = 0, got_channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(data, length, &got_width, &got_height, &got_channels, channels),
      stbi_image_free);
  CG_REQUIRE(pixels != nullptr, FileError, "cannot decode image ", name, ": corrupt or truncated ",
             format, " data", fresh_failure_reason());
  CG_REQUIRE(got_width == width && got_height == height, FileError, "cannot decode image ", name,
             ": header says ", width, "x", height, " but the pixels are ", got_width, "x",
             got_height);

  Image image{height, width, channels, {}};
  image.pixels.assign(pixels.get(), pixels.get() + size_t{1} * width * height * channels);
  return image;
}

Image to_channels(const Image& image, int64_t channels) {
  check_image(image, "to_channels");
  const int64_t from = image.channels;
  if (!((from == 1 || from == 3) && (channels == 1 || channels == 3))) {
    throw std::invalid_argument(detail::str_cat(
        "to_channels converts between 1 and 3 channels, got ", from, " -> ", channels));
  }
  if (from == channels) return image;
  const size_t count = static_cast<size_t>(image.height * image.width);
  Image out{image.height, image.width, channels, std::vector<uint8_t>(count * channels)};
  const uint8_t* in = image.pixels.data();
  uint8_t* dst = out.pixels.data();
  if (channels == 1) {
    for (size_t i = 0; i < count; ++i, in += 3) {
      dst[i] = static_cast<uint8_t>((299 * in[0] + 587 * in[1] + 114 * in[2] + 500) / 1000);
    }
  } else {
    for (size_t i = 0; i < count; ++i, dst += 3) dst[0] = dst[1] = dst[2] = in[i];
  }
  return out;
}

Image resize(const Image& image, int64_t height, int64_t width) {
  check_image(image, "resize");
  if (!(height > 0 && width > 0 && height <= kMaxImageSide && width <= kMaxImageSide &&
        image.height <= kMaxImageSide && image.width <= kMaxImageSide)) {
    throw std::invalid_argument(detail::str_cat("resize takes sides in [1, ", kMaxImageSide,
                                                "], got ", image.height, "x", image.width, " -> ",
                                                height, "x", width));
  }
  if (height == image.height && width == image.width) return image;
  const int c = static_cast<int>(image.channels);
  Image out{height, width, image.channels,
            std::vector<uint8_t>(static_cast<size_t>(height * width * c))};
  const int ok = stbir_resize_uint8_generic(
      image.pixels.data(), static_cast<int>(image.width), static_cast<int>(image.height),
      static_cast<int>(image.width) * c, out.pixels.data(), static_cast<int>(width),
      static_cast<int>(height), static_cast<int>(width) * c, c, STBIR_ALPHA_CHANNEL_NONE, 0,
      STBIR_EDGE_CLAMP, STBIR_FILTER_CATMULLROM, STBIR_COLORSPACE_LINEAR, nullptr);
  // The arguments are valid here, so stb_image_resize fails only when its malloc does.
  if (ok == 0) throw std::bad_alloc();
  return out;
}

Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image(image, "crop");
  if (!(top >= 0 && left >= 0 && height > 0 && width > 0 && top <= image.height - height &&
        left <= image.width - width)) {
    throw std::out_of_range(detail::str_cat("crop of ", height, "x", width, " at (top ", top,
                                            ", left ", left, ") is not inside the ", image.height,
                                            "x", image.width, " image"));
  }
  const size_t row_bytes = static_cast<size_t>(width * image.channels);
  Image out{height, width, image.channels, std::vector<uint8_t>(row_bytes * height)};
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* src = image.pixels.data() + ((top + y) * image.width + left) * image.channels;
    std::copy(src, src + row_bytes, out.pixels.data() + y * row_bytes);
  }
  return out;
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

}  // namespace cg::tools
