// Decoding JPEG and PNG files (image/image_file.h, image/jpeg.h, image/png.h): what each
// kind of file decodes to, and one clear FileError for each kind of bad file.
#include "image/image_file.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/png.h"
#include "image_file_builders.h"

namespace cg::image {
namespace {
namespace fs = std::filesystem;

class ImageFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / (std::string("cyclegan_image_") + info->test_suite_name() +
                                        "_" + info->name() + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void expect_file_error(const std::string& path, std::initializer_list<const char*> needles) {
  try {
    decode_image(path);
    ADD_FAILURE() << "expected FileError for " << path;
  } catch (const FileError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    for (const char* needle : needles) {
      EXPECT_NE(message.find(needle), std::string::npos) << "no '" << needle << "' in: " << message;
    }
  }
}

TEST_F(ImageFiles, PngDecodesExactlyAndDropsAlpha) {
  const int h = 7, w = 5;
  for (int file_channels = 1; file_channels <= 4; ++file_channels) {
    SCOPED_TRACE(file_channels);
    const std::vector<uint8_t> written = random_pixels(h * w * file_channels, file_channels);
    const std::string file = path("c" + std::to_string(file_channels) + ".png");
    write_bytes(file, make_png8(w, h, file_channels, written));
    const Image image = decode_image(file);
    const int want = file_channels <= 2 ? 1 : 3;
    ASSERT_EQ(image.height, h);
    ASSERT_EQ(image.width, w);
    ASSERT_EQ(image.channels, want);
    ASSERT_EQ(image.pixels.size(), static_cast<size_t>(h * w * want));
    for (int i = 0; i < h * w; ++i) {
      for (int c = 0; c < want; ++c) {
        ASSERT_EQ(image.pixels[i * want + c], written[i * file_channels + c]) << "pixel " << i;
      }
    }
  }
}

TEST_F(ImageFiles, JpegDecodesWithinTolerance) {
  const int h = 24, w = 40;
  for (int file_channels = 1; file_channels <= 4; ++file_channels) {
    SCOPED_TRACE(file_channels);
    const std::vector<uint8_t> written = smooth_pixels(h, w, file_channels);
    const std::string file = path("c" + std::to_string(file_channels) + ".JPG");
    write_bytes(file, make_jpeg(w, h, file_channels, written, 95));
    const Image image = decode_image(file);
    ASSERT_EQ(image.height, h);
    ASSERT_EQ(image.width, w);
    ASSERT_EQ(image.channels, 3);  // written as YCbCr, gray repeated and alpha ignored
    double sum = 0;
    int worst = 0;
    for (int i = 0; i < h * w; ++i) {
      for (int c = 0; c < 3; ++c) {
        const int source = written[i * file_channels + (file_channels <= 2 ? 0 : c)];
        const int diff = std::abs(image.pixels[i * 3 + c] - source);
        worst = std::max(worst, diff);
        sum += diff;
      }
    }
    EXPECT_LE(worst, 12);
    EXPECT_LE(sum / (h * w * 3), 2.0);
  }
}

TEST_F(ImageFiles, ProgressiveJpegDecodesLikeBaseline) {
  const int h = 24, w = 40;
  const std::vector<uint8_t> written = smooth_pixels(h, w, 3);
  write_bytes(path("baseline.jpg"), make_jpeg(w, h, 3, written, 90));
  const std::string progressive = make_jpeg(w, h, 3, written, 90, TJFLAG_PROGRESSIVE);
  write_bytes(path("progressive.jpg"), progressive);
  const Image image = decode_image(path("progressive.jpg"));
  ASSERT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels, decode_image(path("baseline.jpg")).pixels);
  write_bytes(path("cut.jpg"), progressive.substr(0, progressive.size() * 2 / 3));
  expect_file_error(path("cut.jpg"), {"corrupt or truncated JPEG data"});
}

TEST_F(ImageFiles, CmykJpegDecodesToRgbLikeStbImageAndPil) {
  const int h = 16, w = 16;
  std::vector<uint8_t> cmyk;  // stored (Adobe, inverted) values: flat 8x8 blocks
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int block = (y / 8) * 2 + x / 8;
      cmyk.insert(cmyk.end(),
                  {static_cast<uint8_t>(255 - 40 * block), static_cast<uint8_t>(60 + 50 * block),
                   static_cast<uint8_t>(200), static_cast<uint8_t>(255 - 30 * block)});
    }
  }
  write_bytes(path("cmyk.jpg"), make_jpeg(w, h, 4, cmyk, 100, 0, /*cmyk=*/true));
  const Image image = decode_image(path("cmyk.jpg"));
  ASSERT_EQ(image.channels, 3);
  for (int i = 0; i < h * w; ++i) {
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(image.pixels[i * 3 + c], cmyk[i * 4 + c] * cmyk[i * 4 + 3] / 255.0, 3)
          << i << " " << c;
    }
  }
}

TEST_F(ImageFiles, GrayJpegDecodesToOneChannel) {
  const int h = 12, w = 20;  // 2 x 3 blocks, the last row and column of blocks cut
  const std::vector<int> levels = {0, 37, 128, 200, 255, 90};
  write_bytes(path("gray.jpeg"), make_gray_jpeg(w, h, levels));
  const Image image = decode_image(path("gray.jpeg"));
  ASSERT_EQ(image.height, h);
  ASSERT_EQ(image.width, w);
  ASSERT_EQ(image.channels, 1);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      EXPECT_NEAR(image.pixels[y * w + x], levels[(y / 8) * 3 + x / 8], 1) << y << "," << x;
    }
  }
}

TEST_F(ImageFiles, SixteenBitPngKeepsTheHighByte) {
  const std::vector<uint16_t> values = {0x0000, 0x00ff, 0x0100, 0x7fff, 0x8000, 0xfffe};
  std::string gray_rows, rgb_rows;
  for (int y = 0; y < 2; ++y) {
    gray_rows.push_back(0);
    rgb_rows.push_back(0);
    for (int x = 0; x < 3; ++x) {
      const uint16_t v = values[y * 3 + x];
      gray_rows += {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
      for (int c = 0; c < 3; ++c) {
        const uint16_t vc = static_cast<uint16_t>(v + 0x1000 * c * (v < 0x8000));
        rgb_rows += {static_cast<char>(vc >> 8), static_cast<char>(vc & 0xff)};
      }
    }
  }
  write_bytes(path("gray16.png"), make_png(3, 2, 16, 0, gray_rows));
  write_bytes(path("rgb16.png"), make_png(3, 2, 16, 2, rgb_rows));
  const Image gray = decode_image(path("gray16.png"));
  const Image rgb = decode_image(path("rgb16.png"));
  ASSERT_EQ(gray.channels, 1);
  ASSERT_EQ(rgb.channels, 3);
  ASSERT_EQ(gray.pixels.size(), 6u);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(gray.pixels[i], values[i] >> 8) << i;
    for (int c = 0; c < 3; ++c) {
      const int vc = values[i] + 0x1000 * c * (values[i] < 0x8000);
      EXPECT_EQ(rgb.pixels[i * 3 + c], vc >> 8) << i << " " << c;
    }
  }
}

TEST_F(ImageFiles, PalettePngDecodesToRgbWithoutAlpha) {
  const std::string palette = {10, 20, 30, static_cast<char>(200), 100, 0};
  const std::string alpha = {0, static_cast<char>(128)};  // tRNS: dropped like any alpha
  const std::string rows = {0, 0, 1, 1, 0, 1, 0, 1};      // filter byte, then 3 indices a row
  write_bytes(path("palette.png"), make_png(3, 2, 8, 3, rows, palette, alpha));
  const Image image = decode_image(path("palette.png"));
  ASSERT_EQ(image.channels, 3);
  const std::vector<uint8_t> expected = {10,  20,  30, 200, 100, 0,  200, 100, 0,
                                         200, 100, 0,  10,  20,  30, 200, 100, 0};
  EXPECT_EQ(image.pixels, expected);
}

TEST_F(ImageFiles, InterlacedPngDecodesExactly) {
  const int h = 11, w = 13;
  const std::vector<uint8_t> pixels = random_pixels(h * w * 3, 5);
  std::string png = make_png(w, h, 8, 2, adam7_rows(pixels, w, h, 3));
  png[28] = 1;  // IHDR interlace method: Adam7, and the IHDR CRC that covers it
  const std::string ihdr = png.substr(12, 17);
  const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(ihdr.data()), ihdr.size());
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  write_bytes(path("adam7.png"), png);
  const Image image = decode_image(path("adam7.png"));
  ASSERT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels, pixels);
}

TEST_F(ImageFiles, MemoryDecodeMatchesFileDecode) {
  const std::vector<uint8_t> written = random_pixels(6 * 4 * 3, 7);
  const std::string file = path("a.png");
  write_bytes(file, encode_png(Image{6, 4, 3, written}));
  const std::string bytes = read_bytes(file);
  const Image image = decode_image_memory(reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size(), "in memory");
  EXPECT_EQ(image.pixels, written);
  EXPECT_EQ(image.pixels, decode_image(file).pixels);
}

TEST_F(ImageFiles, BadFilesThrowFileErrorNamingPathAndReason) {
  expect_file_error(path("missing.png"), {"No such file"});
  fs::create_directories(path("folder.png"));
  expect_file_error(path("folder.png"), {"not a regular file"});
  write_bytes(path("empty.png"), "");
  expect_file_error(path("empty.png"), {"empty file"});
  write_bytes(path("text.jpg"), "this is not a picture, just some text\n");
  expect_file_error(path("text.jpg"), {"not a JPEG or PNG"});
  // Only JPEG and PNG are decoded, whatever the file name says.
  write_bytes(path("one.gif"), std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff"
                                           "\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
                                           "\x00\x02\x02\x44\x01\x00;",
                                           35));
  expect_file_error(path("one.gif"), {"not a JPEG or PNG", "GIF"});
}

TEST_F(ImageFiles, TruncatedFilesThrowFileError) {
  const std::vector<uint8_t> written = random_pixels(32 * 32 * 3, 3);
  write_bytes(path("full.png"), encode_png(Image{32, 32, 3, written}));
  write_bytes(path("full.jpg"), make_jpeg(32, 32, 3, written, 90));
  for (const char* format : {"png", "jpg"}) {
    const std::string bytes = read_bytes(path(std::string("full.") + format));
    // Cut in the header, early in the pixel data and just before the end of it (a PNG that
    // only lacks its IEND chunk has all its pixels, and decodes).
    const size_t tail = std::string(format) == "png" ? 20 : 2;
    for (size_t keep : {size_t{20}, bytes.size() / 10, bytes.size() / 2, bytes.size() - tail}) {
      SCOPED_TRACE(std::string(format) + " " + std::to_string(keep));
      const std::string file = path("cut" + std::to_string(keep) + "." + format);
      write_bytes(file, bytes.substr(0, keep));
      expect_file_error(file, {"truncated"});
    }
  }
}

TEST_F(ImageFiles, OversizedHeaderIsRefusedBeforeDecoding) {
  // Headers only: decoding would need gigabytes, the size check must come first.
  write_bytes(path("wide.png"), make_png(40000, 10, 8, 2, ""));
  expect_file_error(path("wide.png"), {"40000x10", "larger than the limit"});
  write_bytes(path("huge.png"), make_png(20000, 20000, 8, 0, ""));
  expect_file_error(path("huge.png"), {"20000x20000", "larger than the limit"});
}

TEST_F(ImageFiles, MaxPixelsIsAppliedFromTheHeader) {
  const std::vector<uint8_t> written = random_pixels(5 * 5, 9);
  write_bytes(path("a.png"), encode_png(Image{5, 5, 1, written}));
  const std::string bytes = read_bytes(path("a.png"));
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  EXPECT_EQ(decode_image_memory(data, bytes.size(), "a", 25).pixels, written);
  try {
    decode_image_memory(data, bytes.size(), "a", 24);
    ADD_FAILURE() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("5x5 pixels is larger than the limit"), std::string::npos)
        << e.what();
  }
}

// Inputs on which Debian's stb_image 2.27 (the decoder before libjpeg-turbo and libpng)
// overran a buffer or allocated without bound: each is one clear error.
TEST_F(ImageFiles, JpegHuffmanTableOfMoreThan256CodesIsRefused) {
  std::string jpeg = make_gray_jpeg(8, 8, {100});
  std::string dht = {static_cast<char>(0xff), static_cast<char>(0xc4), 0x02, 0x11, 0x10};
  for (int i = 0; i < 16; ++i) dht.push_back(i < 14 ? 0 : static_cast<char>(255));
  dht += std::string(510, '\x01');  // 2 + 17 + 510 = 0x211 bytes
  jpeg.insert(2, dht);
  write_bytes(path("dht.jpg"), jpeg);
  expect_file_error(path("dht.jpg"), {"corrupt or truncated JPEG header", "Bogus Huffman table"});
}

TEST_F(ImageFiles, JpegScanWithUndefinedHuffmanTableIsRefused) {
  std::string jpeg = make_gray_jpeg(8, 8, {100});
  const size_t ac_table =
      jpeg.find(std::string("\xff\xc4\x00\x14\x10", 5));  // the DHT of AC table 0
  ASSERT_NE(ac_table, std::string::npos);
  jpeg.erase(ac_table, 22);
  write_bytes(path("no_ac.jpg"), jpeg);
  expect_file_error(path("no_ac.jpg"), {"corrupt or truncated JPEG data", "Corrupt JPEG data"});
}

TEST_F(ImageFiles, PngStreamCutShortIsRefused) {
  std::string rows;
  for (uint8_t byte : random_pixels(16 * 17, 2)) rows.push_back(rows.size() % 17 ? byte : 0);
  write_bytes(path("cut.png"), make_png(16, 16, 8, 0, rows, "", "", 100));
  expect_file_error(path("cut.png"), {"corrupt or truncated PNG data", "Not enough image data"});
}

TEST_F(ImageFiles, PngStreamLongerThanTheImageIsRefused) {
  // A valid zlib stream of 1 MiB for an 8x8 gray image (64 + 8 bytes): stb_image 2.27
  // allocated all of it, 1 GiB from a 1 MB file; libpng inflates what the image needs.
  write_bytes(path("bomb.png"), make_png(8, 8, 8, 0, std::string(1 << 20, '\0')));
  expect_file_error(path("bomb.png"), {"corrupt PNG data", "Too much image data"});
}

TEST_F(ImageFiles, PngChunkRunningPastTheEndIsRefused) {
  std::string png = make_png(8, 8, 8, 0, std::string(8 * 9, '\0'));
  // IDAT length 2^31 - 1: stb_image 2.27 reserved 2 GiB for it (found by image_fuzz).
  png.replace(33, 4, "\x7f\xff\xff\xff");
  write_bytes(path("long.png"), png);
  expect_file_error(path("long.png"), {"truncated PNG data", "runs past the end"});
}

TEST_F(ImageFiles, ListImagesFiltersAndSortsByName) {
  for (const char* name : {"b.png", "a.JPG", "c.jpeg", "B.Png", "z.JpEg", "notes.txt",
                           ".hidden.png", "x.jpg.bak", "jpg", "d.gif"}) {
    write_bytes(path(name), "x");
  }
  fs::create_directories(path("sub.png"));
  write_bytes(path("sub.png/inner.png"), "x");
  fs::create_symlink(path("b.png"), path("link.png"));
  fs::create_symlink(path("gone.png"), path("broken.png"));
  const std::vector<std::string> expected = {path("B.Png"),  path("a.JPG"),    path("b.png"),
                                             path("c.jpeg"), path("link.png"), path("z.JpEg")};
  EXPECT_EQ(list_images(dir_.string()), expected);
}

TEST_F(ImageFiles, ListImagesOfMissingFolderOrFileThrows) {
  EXPECT_TRUE(list_images(dir_.string()).empty());
  try {
    list_images(path("nope"));
    ADD_FAILURE() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path("nope")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  write_bytes(path("file"), "x");
  EXPECT_THROW(list_images(path("file")), FileError);
}

}  // namespace
}  // namespace cg::image
