#include "cifar10.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/error.h"
#include "pickle.h"
#include "pickle_values.h"

// The python-format batches come from tests/dataset_tools/make_cifar_pickles.py, run with
// the interpreter in $CYCLEGAN_PYTHON (which needs numpy). It fills each pixel with the
// formula in expected_planar() below.
namespace cg::tools {
namespace {
namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed with its content at scope exit.
struct TempDir {
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("cyclegan_cifar10_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path path;
};

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Planar byte j of image i in batch b (b = 5 is test_batch); the Python generator agrees.
uint8_t expected_planar(int b, int i, int j) {
  return static_cast<uint8_t>((31 * b + 17 * i + 7 * j) % 256);
}
uint8_t expected_label(int b, int i) { return static_cast<uint8_t>((b + 3 * i) % 10); }
int batch_count(int b) { return b == 5 ? 1 : 2; }

const char* const kBatchNames[] = {"data_batch_1", "data_batch_2", "data_batch_3",
                                   "data_batch_4", "data_batch_5", "test_batch"};

// One binary record per image, in the published layout: label byte, then R, G, B planes.
std::string binary_batch(int b) {
  std::string out;
  for (int i = 0; i < batch_count(b); ++i) {
    out += static_cast<char>(expected_label(b, i));
    for (int j = 0; j < kCifarPixels; ++j) out += static_cast<char>(expected_planar(b, i, j));
  }
  return out;
}

// Checks images [first, first + batch_count(b)) of `images` against batch b.
void expect_batch(const CifarImages& images, int64_t first, int b) {
  for (int i = 0; i < batch_count(b); ++i) {
    int64_t image = first + i;
    ASSERT_LT(image, images.count());
    EXPECT_EQ(images.labels[static_cast<size_t>(image)], expected_label(b, i));
    for (int y = 0; y < kCifarSide; ++y) {
      for (int x = 0; x < kCifarSide; ++x) {
        for (int c = 0; c < 3; ++c) {
          size_t at = static_cast<size_t>(((image * kCifarSide + y) * kCifarSide + x) * 3 + c);
          uint8_t want = expected_planar(b, i, c * 1024 + y * 32 + x);
          ASSERT_EQ(images.pixels[at], want)
              << "batch " << b << " image " << i << " y " << y << " x " << x << " c " << c;
        }
      }
    }
  }
}

void expect_split(const CifarSplits& splits, const std::string& format) {
  EXPECT_EQ(splits.format, format);
  ASSERT_EQ(splits.train.count(), 10);
  ASSERT_EQ(splits.train.pixels.size(), size_t{10} * kCifarPixels);
  for (int b = 0; b < 5; ++b) expect_batch(splits.train, 2 * b, b);
  ASSERT_EQ(splits.test.count(), 1);
  expect_batch(splits.test, 0, 5);
}

// Runs `read` and returns the FileError message, failing the test if nothing is thrown.
template <typename Fn>
std::string file_error_of(Fn&& read) {
  try {
    read();
  } catch (const FileError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected FileError";
  return "";
}

#define EXPECT_HAS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "'" << (part) << "' not in: " << (message)

TEST(ReadCifarBinary, ConvertsPlanarRgbToInterleavedHwc) {
  TempDir tmp("binary_known");
  const fs::path& dir = tmp.path;
  std::string record(3073, '\0');
  record[0] = 6;
  for (int p = 0; p < 1024; ++p) {
    record[1 + p] = 10;
    record[1 + 1024 + p] = 20;
    record[1 + 2048 + p] = 30;
  }
  record[1 + 1 * 32 + 2] = char(200);           // R at row 1, column 2
  record[1 + 1024 + 31 * 32 + 31] = char(201);  // G at row 31, column 31
  record[1 + 2048 + 0] = char(202);             // B at row 0, column 0
  write_bytes(dir / "one.bin", record);

  CifarImages images = read_cifar_binary((dir / "one.bin").string());
  ASSERT_EQ(images.count(), 1);
  EXPECT_EQ(images.labels[0], 6);
  ASSERT_EQ(images.pixels.size(), 3072u);
  EXPECT_EQ(images.pixels[0], 10);
  EXPECT_EQ(images.pixels[1], 20);
  EXPECT_EQ(images.pixels[2], 202);
  EXPECT_EQ(images.pixels[(1 * 32 + 2) * 3 + 0], 200);
  EXPECT_EQ(images.pixels[(1 * 32 + 2) * 3 + 1], 20);
  EXPECT_EQ(images.pixels[(31 * 32 + 31) * 3 + 1], 201);
  EXPECT_EQ(images.pixels[(31 * 32 + 31) * 3 + 2], 30);
}

TEST(ReadCifarBinary, ReadsSeveralRecords) {
  TempDir tmp("binary_records");
  const fs::path& dir = tmp.path;
  write_bytes(dir / "data_batch_3.bin", binary_batch(2));
  CifarImages images = read_cifar_binary((dir / "data_batch_3.bin").string());
  ASSERT_EQ(images.count(), 2);
  expect_batch(images, 0, 2);
}

TEST(ReadCifarBinary, WrongLengthNamesTheFileSizeAndRecordSize) {
  TempDir tmp("binary_length");
  const fs::path& dir = tmp.path;
  std::string path = (dir / "short.bin").string();
  write_bytes(path, binary_batch(0) + "x");
  std::string message = file_error_of([&] { read_cifar_binary(path); });
  EXPECT_HAS(message, path);
  EXPECT_HAS(message, "6147");
  EXPECT_HAS(message, "multiple of 3073");

  write_bytes(path, "");
  message = file_error_of([&] { read_cifar_binary(path); });
  EXPECT_HAS(message, "size 0 bytes");
}

TEST(ReadCifarBinary, LabelTenNamesTheRecord) {
  TempDir tmp("binary_label");
  const fs::path& dir = tmp.path;
  std::string bytes = binary_batch(0);
  bytes[3073] = 10;
  std::string path = (dir / "bad.bin").string();
  write_bytes(path, bytes);
  std::string message = file_error_of([&] { read_cifar_binary(path); });
  EXPECT_HAS(message, path);
  EXPECT_HAS(message, "record 1");
  EXPECT_HAS(message, "label 10");
}

TEST(ReadCifarBinary, MissingFileOrDirectoryNamesThePath) {
  std::string message = file_error_of([] { read_cifar_binary("/nonexistent/data_batch_1.bin"); });
  EXPECT_HAS(message, "/nonexistent/data_batch_1.bin");
  EXPECT_HAS(message, "no such file");
  TempDir tmp("binary_directory");
  const fs::path& dir = tmp.path;
  message = file_error_of([&] { read_cifar_python(dir.string()); });
  EXPECT_HAS(message, dir.string());
  EXPECT_HAS(message, "not a regular file");
}

TEST(ReadCifarDir, ReadsBinaryBatchesInTheDirectory) {
  TempDir tmp("dir_binary");
  const fs::path& dir = tmp.path;
  for (int b = 0; b < 6; ++b)
    write_bytes(dir / (std::string(kBatchNames[b]) + ".bin"), binary_batch(b));
  expect_split(read_cifar_dir(dir.string()), "binary");
}

TEST(ReadCifarDir, ReadsBinaryBatchesInTheArchiveSubfolder) {
  TempDir tmp("dir_binary_sub");
  const fs::path& dir = tmp.path;
  fs::create_directories(dir / "cifar-10-batches-bin");
  for (int b = 0; b < 6; ++b) {
    write_bytes(dir / "cifar-10-batches-bin" / (std::string(kBatchNames[b]) + ".bin"),
                binary_batch(b));
  }
  expect_split(read_cifar_dir(dir.string()), "binary");
}

TEST(ReadCifarDir, EmptyDirectoryListsWhatWasLookedFor) {
  TempDir tmp("dir_empty");
  const fs::path& dir = tmp.path;
  std::string message = file_error_of([&] { read_cifar_dir(dir.string()); });
  EXPECT_HAS(message, dir.string());
  EXPECT_HAS(message, "data_batch_1.bin");
  EXPECT_HAS(message, "test_batch.bin");
  EXPECT_HAS(message, "cifar-10-batches-bin");
  EXPECT_HAS(message, "cifar-10-batches-py");
}

TEST(ReadCifarDir, IncompleteSetNamesTheMissingFiles) {
  TempDir tmp("dir_partial");
  const fs::path& dir = tmp.path;
  for (int b = 0; b < 5; ++b)
    write_bytes(dir / (std::string(kBatchNames[b]) + ".bin"), binary_batch(b));
  std::string message = file_error_of([&] { read_cifar_dir(dir.string()); });
  EXPECT_HAS(message, "missing test_batch.bin");
}

TEST(ReadCifarDir, MissingDirectoryIsAnError) {
  std::string message = file_error_of([] { read_cifar_dir("/nonexistent/cifar"); });
  EXPECT_HAS(message, "/nonexistent/cifar");
}

TEST(ReadCifarPython, MalformedStreamsNameTheFileAndOffset) {
  auto parse = [](const std::string& bytes) {
    return file_error_of([&] {
      read_cifar_python_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                              "mem.pkl");
    });
  };
  std::string message = parse(std::string("\x80\x02h\x05.", 5));
  EXPECT_HAS(message, "mem.pkl");
  EXPECT_HAS(message, "byte 2");
  EXPECT_HAS(message, "memo");
  EXPECT_HAS(parse(std::string("\x80\x02}\xff.", 5)), "byte 3");
  EXPECT_HAS(parse(std::string("\x80\x02t.", 4)), "no MARK");
  EXPECT_HAS(parse(std::string("\x80\x02"
                               "a.",
                               4)),
             "stack underflow");
  EXPECT_HAS(parse(std::string("\x80\x02\x8e\xff\xff\xff\xff\xff\xff\xff\x7f", 11)),
             "exceeds the 0 bytes left");
  EXPECT_HAS(parse(std::string("\x80\x02}", 3)), "before the STOP");
  EXPECT_HAS(parse(std::string("\x80\x02]") + std::string(300, '(') + "t."), "open MARKs");
  EXPECT_HAS(parse("\x80\x02" + std::string(PickleDocument::kMaxValues + 1, 'N') + "."),
             "more than 1048576 values");
  std::string nested = "\x80\x02)";
  for (int i = 0; i < 300; ++i) nested += "\x85";
  EXPECT_HAS(parse(nested + "."), "nesting deeper");
  EXPECT_HAS(parse(std::string("\x80\x02K\x01.", 5)),
             "(byte 2) is of type int, expected a CIFAR batch dict");
}

TEST(CifarClassNames, MatchTheDatasetOrder) {
  const auto& names = cifar10_class_names();
  EXPECT_EQ(names[0], "airplane");
  EXPECT_EQ(names[9], "truck");
  EXPECT_EQ(cifar10_class_index("airplane"), 0);
  EXPECT_EQ(cifar10_class_index("ship"), 8);
  try {
    cifar10_class_index("Ship");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "'Ship'");
    EXPECT_HAS(std::string(e.what()), "airplane, automobile, bird");
  }
}

// Generates the pickles once for every test below; skipped without CYCLEGAN_PYTHON.
class CifarPickles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* python = std::getenv("CYCLEGAN_PYTHON");
#ifdef CYCLEGAN_PYTHON_DEFAULT
    if (python == nullptr) python = CYCLEGAN_PYTHON_DEFAULT;  // the build's own interpreter
#endif
    if (python == nullptr || *python == '\0') return;
    const char* script_env = std::getenv("CYCLEGAN_CIFAR_PICKLE_SCRIPT");
    fs::path script =
        script_env != nullptr ? fs::path(script_env) : fs::path(CYCLEGAN_CIFAR_PICKLE_SCRIPT);
    dir_ = std::make_unique<TempDir>("pickles");
    std::string command =
        "'" + std::string(python) + "' '" + script.string() + "' '" + dir_->path.string() + "'";
    generated_ = std::system(command.c_str()) == 0;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "CYCLEGAN_PYTHON is not set";
    ASSERT_TRUE(generated_) << "make_cifar_pickles.py failed";
  }

  static std::string path(const std::string& format, const std::string& file) {
    return (dir_->path / format / file).string();
  }

  void expect_python_format(const std::string& format) {
    for (int b = 0; b < 6; ++b) {
      SCOPED_TRACE(format + "/" + kBatchNames[b]);
      CifarImages images = read_cifar_python(path(format, kBatchNames[b]));
      ASSERT_EQ(images.count(), batch_count(b));
      expect_batch(images, 0, b);
    }
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline bool generated_ = false;
};

TEST_F(CifarPickles, ReadsPython2CPickleStream) { expect_python_format("py2"); }

TEST_F(CifarPickles, ReadsProtocol2WithBytesKeys) { expect_python_format("p2"); }

TEST_F(CifarPickles, ReadsProtocol4WithStrKeys) { expect_python_format("p4"); }

TEST_F(CifarPickles, ReadsProtocol5InBandBuffer) { expect_python_format("p5"); }

TEST_F(CifarPickles, ReadsPythonArchiveSubfolder) {
  TempDir tmp("dir_python");
  const fs::path& dir = tmp.path;
  fs::create_directories(dir / "cifar-10-batches-py");
  for (const char* name : kBatchNames) {
    fs::copy_file(path("py2", name), dir / "cifar-10-batches-py" / name);
  }
  expect_split(read_cifar_dir(dir.string()), "python");
}

TEST_F(CifarPickles, BatchesMetaHoldsTheClassNames) {
  for (const char* format : {"py2", "p2"}) {
    SCOPED_TRACE(format);
    std::string bytes = read_bytes(path(format, "batches.meta"));
    PickleDocument doc =
        PickleDocument::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), format);
    const PickleValue* names = pickle_dict_get(doc, doc.root(), "label_names");
    ASSERT_NE(names, nullptr);
    ASSERT_EQ(names->kind, PickleKind::kList);
    ASSERT_EQ(names->items.size(), 10u);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(pickle_bytes(doc, *names->items[i], "name"), cifar10_class_names()[i]);
    }
    const PickleValue* vis = pickle_dict_get(doc, doc.root(), "num_vis");
    ASSERT_NE(vis, nullptr);
    EXPECT_EQ(vis->integer, kCifarPixels);
  }
}

TEST_F(CifarPickles, TruncatedPickleNamesTheFileAndOffset) {
  std::string file = path("bad", "truncated");
  std::string message = file_error_of([&] { read_cifar_python(file); });
  EXPECT_HAS(message, file);
  EXPECT_HAS(message, "malformed pickle at byte ");
  EXPECT_HAS(message, "truncated");
}

TEST_F(CifarPickles, Float64DataNamesTheDtype) {
  std::string file = path("bad", "float64");
  std::string message = file_error_of([&] { read_cifar_python(file); });
  EXPECT_HAS(message, file);
  EXPECT_HAS(message, "'data'");
  EXPECT_HAS(message, "dtype 'f8', expected uint8");
}

TEST_F(CifarPickles, FortranOrderIsRejected) {
  std::string file = path("bad", "fortran");
  std::string message = file_error_of([&] { read_cifar_python(file); });
  EXPECT_HAS(message, file);
  EXPECT_HAS(message, "not in C order");
}

TEST_F(CifarPickles, MissingKeyListsTheKeysPresent) {
  std::string file = path("bad", "missing_labels");
  std::string message = file_error_of([&] { read_cifar_python(file); });
  EXPECT_HAS(message, file);
  EXPECT_HAS(message, "no 'labels' key");
  EXPECT_HAS(message, "keys: batch_label, data, filenames");
}

TEST_F(CifarPickles, BinaryReaderRejectsAPickle) {
  std::string file = path("p2", "data_batch_1");
  std::string message = file_error_of([&] { read_cifar_binary(file); });
  EXPECT_HAS(message, file);
  EXPECT_HAS(message, "multiple of 3073");
}

}  // namespace
}  // namespace cg::tools
