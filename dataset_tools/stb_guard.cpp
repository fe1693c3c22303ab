#include "stb_guard.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/error.h"
#include "image.h"

namespace cg::tools {
namespace {

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

}  // namespace

bool is_png(const uint8_t* data, size_t size) {
  return size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
}

bool is_jpeg(const uint8_t* data, size_t size) {
  StbReader in{data, size};
  return in.marker() == 0xd8;
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

}  // namespace cg::tools
