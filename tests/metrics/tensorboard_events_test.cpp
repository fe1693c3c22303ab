// The TFRecord framing of TensorBoard event files, read back byte by byte. That TensorBoard
// itself reads them (tags, steps, values, images, text, restarts) is tested end to end by
// tensorboard_e2e.py with TensorBoard's own event reader.
#include "metrics/tensorboard_events.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/file_util.h"

namespace cg::metrics {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("cg_tb_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

uint32_t masked(const std::string& bytes) {
  const uint32_t crc = crc32c(bytes.data(), bytes.size());
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// The payloads of the records of `file`; fails the test on a bad length, checksum or tail.
std::vector<std::string> records(const std::string& file) {
  const std::string bytes = read_file(file);
  std::vector<std::string> out;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size()) << "torn record header at byte " << at;
    if (at + 12 > bytes.size()) break;
    const std::string length = bytes.substr(at, 8);
    uint64_t n = 0;
    uint32_t length_crc = 0, data_crc = 0;
    std::memcpy(&n, length.data(), 8);
    std::memcpy(&length_crc, bytes.data() + at + 8, 4);
    EXPECT_EQ(length_crc, masked(length)) << "record at byte " << at;
    EXPECT_LE(at + 12 + n + 4, bytes.size()) << "torn record at byte " << at;
    if (at + 12 + n + 4 > bytes.size()) break;
    std::string data = bytes.substr(at + 12, n);
    std::memcpy(&data_crc, bytes.data() + at + 12 + n, 4);
    EXPECT_EQ(data_crc, masked(data)) << "record at byte " << at;
    out.push_back(std::move(data));
    at += 12 + n + 4;
  }
  return out;
}

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(EventFileWriter, WritesWholeRecordsThatCarryTheEvents) {
  const fs::path dir = fresh_dir("records");
  std::string path;
  {
    EventFileWriter writer(dir.string());
    path = writer.path();
    EXPECT_NE(fs::path(path).filename().string().find("events.out.tfevents."), std::string::npos);
    writer.add_session_start(1);
    for (int step = 1; step <= 50; ++step) writer.add(step, Summary().scalar("loss/D_A", 0.5));
    writer.add(50, Summary().image("samples", std::string(70000, 'x'), 10, 20, 3));
    writer.add(50, Summary().text("run/config", "preset cifar-colorize"));
    writer.add(51, Summary());  // empty: no event
  }
  const std::vector<std::string> events = records(path);
  ASSERT_EQ(events.size(), 1u + 1 + 50 + 2);
  EXPECT_NE(events[0].find("brain.Event:2"), std::string::npos);
  EXPECT_NE(events[2].find("loss/D_A"), std::string::npos);
  EXPECT_NE(events[52].find(std::string(70000, 'x')), std::string::npos);
  EXPECT_NE(events[53].find("preset cifar-colorize"), std::string::npos);
  fs::remove_all(dir);
}

TEST(EventFileWriter, FlushPutsQueuedEventsOnDiskBeforeReturning) {
  const fs::path dir = fresh_dir("flush");
  EventFileWriter writer(dir.string(), {/*flush_seconds=*/3600});
  writer.add(7, Summary().scalar("lr/G", 1e-4));
  writer.flush();
  EXPECT_EQ(records(writer.path()).size(), 2u);
  EXPECT_TRUE(writer.ok());
  fs::remove_all(dir);
}

TEST(EventFileWriter, ANewFileSortsAfterTheFilesAlreadyThere) {
  // TensorBoard reads a folder's files in name order: a resumed run's file must come last,
  // even when an earlier file carries a later time (a clock set back, a fast restart).
  const fs::path dir = fresh_dir("order");
  fs::create_directories(dir);
  const std::string late = (dir / "events.out.tfevents.4000000000.host.1.cyclegan_dist").string();
  std::ofstream(late).put('\0');
  EventFileWriter writer(dir.string());
  EXPECT_GT(fs::path(writer.path()).filename().string(), fs::path(late).filename().string());
  EXPECT_NE(writer.path().find("tfevents.4000000001."), std::string::npos) << writer.path();
  fs::remove_all(dir);
}

TEST(EventFileWriter, AFolderThatCannotBeMadeIsOneClearError) {
  const fs::path dir = fresh_dir("blocked");
  std::ofstream(dir.string()).put('x');  // a file where the folder should be
  try {
    EventFileWriter writer((dir / "tensorboard").string());
    FAIL() << "expected a FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
  fs::remove(dir);
}

}  // namespace
}  // namespace cg::metrics
