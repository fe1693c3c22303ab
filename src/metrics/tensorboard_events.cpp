#include "metrics/tensorboard_events.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"

namespace cg::metrics {
namespace {

// Protocol buffer wire format: a key (field number and wire type), then the value.
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, field << 3 | type);
}

void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kBytes);
  put_varint(out, bytes.size());
  out += bytes;
}

template <typename T>
void put_fixed(std::string& out, uint32_t field, T v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  put_key(out, field, sizeof(T) == 4 ? kFixed32 : kFixed64);
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));  // little-endian, as the wire format is (x86, ARM)
  out.append(raw, sizeof(T));
}

// Field numbers of the messages used (tensorflow/core/util/event.proto,
// framework/summary.proto, framework/tensor.proto, framework/types.proto).
namespace event {
constexpr uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5, kSessionLog = 7;
}
namespace value {
constexpr uint32_t kTag = 1, kSimpleValue = 2, kImage = 4, kTensor = 8, kMetadata = 9;
}
namespace image {
constexpr uint32_t kHeight = 1, kWidth = 2, kColorspace = 3, kEncoded = 4;
}
constexpr uint32_t kSummaryValue = 1;        // Summary.value
constexpr uint32_t kMetadataPluginData = 1;  // SummaryMetadata.plugin_data
constexpr uint32_t kPluginName = 1;          // SummaryMetadata.PluginData.plugin_name
constexpr uint32_t kTensorDtype = 1, kTensorStringVal = 8;
constexpr int64_t kDtString = 7;
constexpr uint32_t kSessionLogStatus = 1;
constexpr int64_t kSessionStart = 1;

std::string event_header(int64_t step) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string e;
  put_fixed(e, event::kWallTime, now);
  put_int(e, event::kStep, step);
  return e;
}

uint32_t masked_crc(const std::string& bytes) {
  const uint32_t crc = crc32c(bytes.data(), bytes.size());
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// One TFRecord around `data`.
std::string record(const std::string& data) {
  std::string length(8, '\0');
  const uint64_t n = data.size();
  std::memcpy(length.data(), &n, 8);
  std::string out = length;
  const uint32_t length_crc = masked_crc(length), data_crc = masked_crc(data);
  out.append(reinterpret_cast<const char*>(&length_crc), 4);
  out += data;
  out.append(reinterpret_cast<const char*>(&data_crc), 4);
  return out;
}

// A name later than that of every event file in `dir`: the directory loader reads files
// in name order and never goes back to an earlier one.
std::string new_file_path(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string prefix = "events.out.tfevents.";
  int64_t time = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const int64_t existing = std::strtoll(name.c_str() + prefix.size(), nullptr, 10);
    time = std::max(time, existing + 1);
  }
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  char name[400];
  std::snprintf(name, sizeof(name), "%s%010lld.%s.%d.cyclegan_dist", prefix.c_str(),
                static_cast<long long>(time), host, static_cast<int>(::getpid()));
  return (fs::path(dir) / name).string();
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

Summary& Summary::scalar(const std::string& tag, double v) {
  std::string value;
  put_bytes(value, value::kTag, tag);
  put_fixed(value, value::kSimpleValue, static_cast<float>(v));
  put_bytes(bytes_, kSummaryValue, value);
  return *this;
}

Summary& Summary::image(const std::string& tag, const std::string& png, int64_t height,
                        int64_t width, int64_t channels) {
  std::string img;
  put_int(img, image::kHeight, height);
  put_int(img, image::kWidth, width);
  put_int(img, image::kColorspace, channels);  // 1 grayscale, 3 RGB: the channel count
  put_bytes(img, image::kEncoded, png);
  std::string value;
  put_bytes(value, value::kTag, tag);
  put_bytes(value, value::kImage, img);
  put_bytes(bytes_, kSummaryValue, value);
  return *this;
}

Summary& Summary::text(const std::string& tag, const std::string& markdown) {
  std::string plugin, metadata, tensor, value;
  put_bytes(plugin, kPluginName, "text");
  put_bytes(metadata, kMetadataPluginData, plugin);
  put_int(tensor, kTensorDtype, kDtString);  // no shape: a scalar string
  put_bytes(tensor, kTensorStringVal, markdown);
  put_bytes(value, value::kTag, tag);
  put_bytes(value, value::kMetadata, metadata);
  put_bytes(value, value::kTensor, tensor);
  put_bytes(bytes_, kSummaryValue, value);
  return *this;
}

EventFileWriter::EventFileWriter(const std::string& dir, EventFileOptions options)
    : options_(options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  CG_REQUIRE(!ec, FileError, "cannot create the TensorBoard folder ", dir, ": ", ec.message());
  path_ = new_file_path(dir);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  CG_REQUIRE(fd_ >= 0, FileError, "cannot create the TensorBoard event file ", path_, ": ",
             std::strerror(errno));
  std::string header = event_header(0);
  put_bytes(header, event::kFileVersion, "brain.Event:2");
  queue_event(header);
  thread_ = std::thread([this] { run(); });
}

EventFileWriter::~EventFileWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (!failed_ && ::fsync(fd_) != 0) {
    log::warn("TensorBoard: cannot sync ", path_, ": ", std::strerror(errno));
  }
  if (::close(fd_) != 0 && !failed_) {
    log::warn("TensorBoard: cannot close ", path_, ": ", std::strerror(errno));
  }
}

void EventFileWriter::add(int64_t step, const Summary& summary) {
  if (summary.empty()) return;
  std::string e = event_header(step);
  put_bytes(e, event::kSummary, summary.bytes());
  queue_event(e);
}

void EventFileWriter::add_session_start(int64_t step) {
  std::string session_log, e = event_header(step);
  put_int(session_log, kSessionLogStatus, kSessionStart);
  put_bytes(e, event::kSessionLog, session_log);
  queue_event(e);
}

void EventFileWriter::queue_event(const std::string& event) {
  std::string framed = record(event);
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ += framed;
  queued_ += framed.size();
}

void EventFileWriter::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t target = queued_;
  flush_requested_ = true;
  wake_.notify_all();
  written_.wait(lock, [&] { return done_ >= target; });
}

bool EventFileWriter::ok() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !failed_;
}

void EventFileWriter::run() {
  const auto period = std::chrono::duration<double>(options_.flush_seconds);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait_for(lock, period, [&] { return stopping_ || flush_requested_; });
    flush_requested_ = false;
    write_pending(lock);
    if (stopping_ && pending_.empty()) return;
  }
}

// Writes whole buffers of whole records: a process killed between two writes leaves only
// whole records behind.
void EventFileWriter::write_pending(std::unique_lock<std::mutex>& lock) {
  std::string bytes;
  bytes.swap(pending_);
  if (!failed_ && !bytes.empty()) {
    lock.unlock();
    size_t at = 0;
    int error = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::write(fd_, bytes.data() + at, bytes.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? errno : EIO;
        break;
      }
      at += static_cast<size_t>(n);
    }
    lock.lock();
    if (error != 0) {
      failed_ = true;
      log::warn("TensorBoard: cannot write ", path_, ": ", std::strerror(error),
                "; no more TensorBoard events from this run (training goes on)");
    }
  }
  done_ += bytes.size();
  written_.notify_all();
}

}  // namespace cg::metrics
