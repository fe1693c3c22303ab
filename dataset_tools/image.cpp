#include "image.h"

#include <fcntl.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

// Reads like stb_image's memory reader: zeros past the end, so the guards below see the
// bytes stb sees.
struct StbReader {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;

  bool at_eof() const { return pos >= size; }
  int get8() { return pos < size ? data[pos++] : 0; }
  int get16() {
    const int high = get8();
    return (high << 8) | get8();
  }
  uint32_t get32() {
    const uint32_t high = static_cast<uint32_t>(get16());
    return (high << 16) | static_cast<uint32_t>(get16());
  }
  void skip(int64_t n) { pos = n > 0 ? std::min(size, pos + static_cast<size_t>(n)) : pos; }
  // stbi__get_marker: 0xff = no marker.
  int marker() {
    int x = get8();
    if (x != 0xff) return 0xff;
    while (x == 0xff) x = get8();
    return x;
  }
};

bool is_png(const uint8_t* data, size_t size) {
  return size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
}

// stb_image takes any input that starts with 0xff bytes and then 0xd8 for a JPEG.
bool is_jpeg(const uint8_t* data, size_t size) {
  StbReader in{data, size};
  return in.marker() == 0xd8;
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

// Two JPEG Huffman table bugs of stb_image 2.27, both found by image_fuzz: it builds a
// table without checking that its 16 code counts sum to at most 256, overrunning the table
// and the decoder state after it when they do; and it decodes a scan with a table no DHT
// segment defined, reading uninitialized memory as table offsets (a crash). This walks the
// markers as stbi__decode_jpeg_header and stbi__decode_jpeg_image do, stopping where stb
// would fail, and refuses both. Entropy-coded data ends at the first 0xff followed by a
// marker that is not a restart: stb resumes there or stops with an error.
void check_jpeg_huffman_tables(const uint8_t* data, size_t size, const std::string& name) {
  StbReader in{data, size};
  in.marker();              // SOI
  bool defined[2][4] = {};  // [DC, AC][table id]: set by a DHT segment
  // stbi__process_marker for what may come before, between and after scans: false where
  // stb fails (an unknown marker, a bad length).
  auto process_marker = [&](int m) {
    if (m == 0xdd) {  // DRI
      if (in.get16() != 4) return false;
      in.get16();
      return true;
    }
    if (m == 0xdb || m == 0xc4) {  // DQT, DHT
      int64_t left = in.get16() - 2;
      while (left > 0) {
        const int q = in.get8();
        if (m == 0xdb) {
          if ((q >> 4) > 1 || (q & 15) > 3) return false;
          in.skip((q >> 4) ? 128 : 64);
          left -= (q >> 4) ? 129 : 65;
          continue;
        }
        if ((q >> 4) > 1 || (q & 15) > 3) return false;
        int codes = 0;
        for (int i = 0; i < 16; ++i) codes += in.get8();
        CG_REQUIRE(codes <= 256, FileError, "cannot decode image ", name,
                   ": corrupt JPEG: a Huffman table declares ", codes, " codes (at most 256)");
        defined[q >> 4][q & 15] = true;
        in.skip(codes);
        left -= 17 + codes;
      }
      return left == 0;
    }
    if ((m >= 0xe0 && m <= 0xef) || m == 0xfe) {  // APPn, COM
      const int length = in.get16();
      in.skip(length - 2);
      return length >= 2;
    }
    return false;
  };
  auto is_sof = [](int m) { return m == 0xc0 || m == 0xc1 || m == 0xc2; };
  int m = in.marker();
  while (!is_sof(m)) {
    if (!process_marker(m)) return;
    m = in.marker();
    while (m == 0xff) {
      if (in.at_eof()) return;
      m = in.marker();
    }
  }
  const bool progressive = m == 0xc2;
  const int frame_length = in.get16();
  if (frame_length < 11) return;
  in.skip(frame_length - 2);
  m = in.marker();
  while (m != 0xd9) {  // EOI
    if (m == 0xda) {   // SOS, then entropy-coded data
      const int length = in.get16(), count = in.get8();
      if (count < 1 || count > 4 || length != 6 + 2 * count) return;
      int tables[4];
      for (int i = 0; i < count; ++i) {
        in.get8();  // component id
        tables[i] = in.get8();
        if ((tables[i] >> 4) > 3 || (tables[i] & 15) > 3) return;
      }
      const int spectrum_start = in.get8();
      in.get8();  // spectrum end
      const int approximation_high = in.get8() >> 4;
      // A sequential scan decodes with both tables; a progressive one with the DC table in
      // a first DC scan, the AC table in an AC scan, none in a DC refinement.
      const bool uses_dc = !progressive || (spectrum_start == 0 && approximation_high == 0);
      const bool uses_ac = !progressive || spectrum_start > 0;
      for (int i = 0; i < count; ++i) {
        const int dc = tables[i] >> 4, ac = tables[i] & 15;
        CG_REQUIRE((!uses_dc || defined[0][dc]) && (!uses_ac || defined[1][ac]), FileError,
                   "cannot decode image ", name, ": corrupt JPEG: a scan uses Huffman table ",
                   uses_dc && !defined[0][dc] ? "DC " : "AC ", uses_dc && !defined[0][dc] ? dc : ac,
                   ", which no DHT segment defines");
      }
      m = 0xff;
      while (!in.at_eof() && m == 0xff) {
        if (in.get8() != 0xff) continue;
        int next = in.get8();
        while (next == 0xff) next = in.get8();
        if (next != 0 && !(next >= 0xd0 && next <= 0xd7)) m = next;
      }
      if (m == 0xff) return;
      continue;
    }
    if (m == 0xdc) {  // DNL
      if (in.get16() != 4) return;
      in.get16();
    } else if (!process_marker(m)) {
      return;
    }
    m = in.marker();
  }
}

// Two ways a small PNG makes stb_image 2.27 allocate gigabytes: an IDAT chunk whose length
// points past the end makes it reserve that length first (found by image_fuzz: 2 GiB for a
// 122-byte file), and it inflates into a buffer it doubles without bound (a 1 MB file of an
// 8x8 image takes 1 GB). This walks the chunks as stbi__parse_png_file does and inflates the
// IDAT stream with zlib first, counting the bytes without keeping them, and refuses a chunk
// or stream that is cut short, a corrupt stream, and one that inflates past twice what the
// image needs. Adler-32 and CRCs are not checked, as stb does not.
void check_png_stream(const uint8_t* data, size_t size, const std::string& name) {
  StbReader in{data, size, 8};
  std::vector<std::pair<const uint8_t*, size_t>> idat;
  bool iphone = false, ended = false;
  uint64_t needed = 0;  // upper bound of the filtered rows, interlaced or not, plus slack
  while (!in.at_eof()) {
    const uint32_t length = in.get32(), type = in.get32();
    const size_t start = in.pos;
    if (type == 0x49454e44) {  // IEND
      ended = true;
      break;
    }
    if (type == 0x49444154) {  // IDAT
      CG_REQUIRE(length <= size - std::min(size, start), FileError, "cannot decode image ", name,
                 ": truncated PNG data (an IDAT chunk of ", length, " bytes runs past the end)");
      idat.emplace_back(data + start, length);
    } else if (type == 0x43674249) {  // CgBI: Apple's PNG, raw deflate without zlib header
      iphone = true;
    } else if (type == 0x49484452 && length == 13 && size - std::min(size, start) >= 13) {
      const uint64_t width = in.get32(), height = in.get32();
      const int depth = in.get8(), color = in.get8();
      static const int kSamples[7] = {1, 0, 3, 1, 2, 0, 4};  // per color type; 0: invalid
      const uint64_t bits = static_cast<uint64_t>(depth) * kSamples[std::min(color, 6)];
      // Filtered rows take w * h * bits / 8 bytes, plus per row a filter byte and rounding
      // to whole bytes: at most 4 bytes a row over the 7 passes of an interlaced image.
      constexpr uint64_t kSide = kMaxImageSide;
      if (depth <= 16 && width <= kSide && height <= kSide) {
        needed = 2 * ((width * height * bits + 7) / 8 + 4 * height + 64);
      }
    }
    in.pos = start;
    in.skip(int64_t{length} + 4);  // data and CRC
  }
  if (!ended || idat.empty() || needed == 0) return;  // stb fails without inflating

  z_stream zs{};
  CG_REQUIRE(inflateInit2(&zs, -MAX_WBITS) == Z_OK, FileError, "cannot decode image ", name,
             ": zlib: ", zs.msg ? zs.msg : "inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> end_stream(&zs, inflateEnd);
  size_t header = iphone ? 0 : 2;  // stb checks the 2-byte zlib header itself
  std::vector<uint8_t> sink(size_t{1} << 16);
  uint64_t produced = 0;
  int status = Z_OK;
  for (size_t i = 0; i < idat.size() && status == Z_OK; ++i) {
    const size_t skipped = std::min(header, idat[i].second);
    header -= skipped;
    zs.next_in = const_cast<Bytef*>(idat[i].first + skipped);
    zs.avail_in = static_cast<uInt>(idat[i].second - skipped);
    bool more = zs.avail_in > 0;
    while (more && status == Z_OK && produced <= needed) {
      zs.next_out = sink.data();
      zs.avail_out = static_cast<uInt>(sink.size());
      status = inflate(&zs, Z_NO_FLUSH);
      produced += sink.size() - zs.avail_out;
      if (status == Z_BUF_ERROR) status = Z_OK;  // nothing left to do without more input
      more = zs.avail_in > 0 || zs.avail_out == 0;
    }
    CG_REQUIRE(produced <= needed, FileError, "cannot decode image ", name,
               ": corrupt PNG data: it inflates to more than the ", needed,
               " bytes its size allows");
  }
  CG_REQUIRE(status != Z_OK, FileError, "cannot decode image ", name,
             ": corrupt or truncated PNG data (the compressed stream is cut short)");
  CG_REQUIRE(status == Z_STREAM_END, FileError, "cannot decode image ", name,
             ": corrupt or truncated PNG data (zlib: ", zs.msg ? zs.msg : "error ", status, ")");
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
