#include "image_file_builders.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <random>

namespace cg::image {

std::vector<uint8_t> random_pixels(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> pixels(count);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(byte(rng));
  return pixels;
}

std::vector<uint8_t> smooth_pixels(int height, int width, int channels) {
  std::vector<uint8_t> pixels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        pixels.push_back(static_cast<uint8_t>(40 + 2 * x + 3 * y + 30 * c));
      }
    }
  }
  return pixels;
}

namespace {

void append_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void append_chunk(std::string& png, const char* type, const std::string& data) {
  append_u32(png, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  append_u32(png, static_cast<uint32_t>(
                      crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
}

}  // namespace

std::string make_png(uint32_t width, uint32_t height, int depth, int color_type,
                     const std::string& rows, const std::string& palette,
                     const std::string& transparency, size_t keep) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  append_u32(ihdr, width);
  append_u32(ihdr, height);
  ihdr += {static_cast<char>(depth), static_cast<char>(color_type), 0, 0, 0};
  append_chunk(png, "IHDR", ihdr);
  if (!palette.empty()) append_chunk(png, "PLTE", palette);
  if (!transparency.empty()) append_chunk(png, "tRNS", transparency);
  if (!rows.empty()) {
    uLongf packed_size = compressBound(rows.size());
    std::string packed(packed_size, '\0');
    EXPECT_EQ(compress(reinterpret_cast<Bytef*>(&packed[0]), &packed_size,
                       reinterpret_cast<const Bytef*>(rows.data()), rows.size()),
              Z_OK);
    packed.resize(std::min<size_t>(packed_size, keep));
    append_chunk(png, "IDAT", packed);
  }
  append_chunk(png, "IEND", "");
  return png;
}

std::string adam7_rows(const std::vector<uint8_t>& hwc, int width, int height, int channels) {
  static const int kPasses[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  std::string rows;
  for (const auto& pass : kPasses) {
    if (pass[0] >= width) continue;
    for (int y = pass[1]; y < height; y += pass[3]) {
      rows.push_back(0);
      for (int x = pass[0]; x < width; x += pass[2]) {
        for (int c = 0; c < channels; ++c) {
          rows.push_back(static_cast<char>(hwc[(y * width + x) * channels + c]));
        }
      }
    }
  }
  return rows;
}

std::string make_png8(int width, int height, int channels, const std::vector<uint8_t>& hwc) {
  static const int kColorType[5] = {0, 0, 4, 2, 6};
  std::string rows;
  for (int y = 0; y < height; ++y) {
    rows.push_back(0);
    rows.append(reinterpret_cast<const char*>(hwc.data()) + y * width * channels, width * channels);
  }
  return make_png(width, height, 8, kColorType[channels], rows);
}

std::string make_jpeg(int width, int height, int channels, const std::vector<uint8_t>& hwc,
                      int quality, int flags, bool cmyk) {
  std::vector<uint8_t> pixels = hwc;
  int format = cmyk ? TJPF_CMYK : channels == 3 ? TJPF_RGB : TJPF_RGBX;
  if (channels <= 2) {
    pixels.clear();
    for (size_t i = 0; i < hwc.size(); i += channels) pixels.insert(pixels.end(), 3, hwc[i]);
    format = TJPF_RGB;
  }
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle, pixels.data(), width, 0, height, format, &out, &size,
                             TJSAMP_444, quality, flags);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  std::string jpeg(reinterpret_cast<const char*>(out), size);
  tjFree(out);
  tjDestroy(handle);
  return jpeg;
}

std::string make_gray_jpeg(int width, int height, const std::vector<int>& levels) {
  std::string out = "\xff\xd8";
  auto segment = [&out](uint8_t marker, const std::string& body) {
    out += {static_cast<char>(0xff), static_cast<char>(marker),
            static_cast<char>((body.size() + 2) >> 8), static_cast<char>(body.size() + 2)};
    out += body;
  };
  segment(0xdb, std::string(1, '\0') + std::string(64, '\x08'));
  segment(0xc0, {8, static_cast<char>(height >> 8), static_cast<char>(height),
                 static_cast<char>(width >> 8), static_cast<char>(width), 1, 1, 0x11, 0});
  std::string dc_table = {0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (char category = 0; category < 12; ++category) dc_table += category;  // 4-bit codes
  segment(0xc4, dc_table);
  segment(0xc4, {0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00});  // EOB = "0"
  segment(0xda, {1, 1, 0x00, 0, 63, 0});
  uint32_t bits = 0;
  int count = 0;
  auto put = [&](uint32_t value, int length) {
    for (int i = length - 1; i >= 0; --i) {
      bits = (bits << 1) | ((value >> i) & 1);
      if (++count == 8) {
        out.push_back(static_cast<char>(bits));
        if (bits == 0xff) out.push_back('\0');  // byte stuffing
        bits = 0;
        count = 0;
      }
    }
  };
  int previous = 0;
  for (int level : levels) {
    const int diff = (level - 128) - previous;
    previous = level - 128;
    int category = 0;
    while ((std::abs(diff) >> category) != 0) ++category;
    put(static_cast<uint32_t>(category), 4);
    put(static_cast<uint32_t>(diff >= 0 ? diff : diff + (1 << category) - 1), category);
    put(0, 1);  // end of block: every AC coefficient is zero
  }
  if (count > 0) put(0x7f, 8 - count);  // pad with ones
  out += "\xff\xd9";
  return out;
}

}  // namespace cg::image
