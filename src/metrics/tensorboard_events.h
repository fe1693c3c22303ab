#pragma once
// TensorBoard event files, written without TensorFlow or protobuf: the file is a sequence
// of TFRecords (uint64 length, masked CRC-32C of the length, the bytes, masked CRC-32C of
// the bytes), each holding one `tensorflow.Event` protocol buffer. The few messages used
// here (Event, Summary, Summary.Value, Summary.Image, SummaryMetadata, TensorProto,
// SessionLog) are encoded by hand with their published field numbers (tensorflow/core/
// util/event.proto, framework/summary.proto, framework/tensor.proto): about sixty lines,
// against a protobuf compiler and runtime for seven messages.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace cg::metrics {

/// CRC-32C (Castagnoli), as TFRecord framing uses it.
uint32_t crc32c(const void* data, size_t size);

/// A `tensorflow.Summary`: values for one step, built up by the calls below.
class Summary {
 public:
  /// A scalar, shown in TensorBoard's Scalars tab (stored as float32, as TensorBoard does).
  Summary& scalar(const std::string& tag, double value);
  /// An encoded image (PNG), shown in the Images tab. `channels`: 1 gray, 3 RGB.
  Summary& image(const std::string& tag, const std::string& png, int64_t height, int64_t width,
                 int64_t channels);
  /// Text (Markdown), shown in the Text tab: a string tensor of the "text" plugin.
  Summary& text(const std::string& tag, const std::string& markdown);

  bool empty() const { return bytes_.empty(); }
  /// The encoded message.
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

struct EventFileOptions {
  double flush_seconds = 2.0;  ///< longest time an event waits in memory before it is written
};

/// One event file in `dir`, named events.out.tfevents.<unix time>.<host>.<pid>.cyclegan_dist
/// like TensorFlow's, with a time later than that of every event file already there, so
/// TensorBoard reads a resumed run's files in order. Events are encoded on the caller's
/// thread (microseconds) and written by a background thread every flush_seconds, on
/// flush() and at destruction: the training step never waits for the disk. A write that
/// fails (disk full) is logged once as a warning naming the file and the cause, and the
/// events after it are dropped: losing the curves must not stop a training run.
/// Thread-safe.
class EventFileWriter {
 public:
  /// Creates `dir` if needed and the file, with its "brain.Event:2" header event. Throws
  /// FileError naming the path when the file cannot be created.
  explicit EventFileWriter(const std::string& dir, EventFileOptions options = {});
  /// Writes what is queued and closes the file.
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  /// Queues `summary` as the event of `step`, stamped with the current time.
  void add(int64_t step, const Summary& summary);
  /// Queues SessionLog START at `step`: TensorBoard then drops the events of `step` and
  /// later that earlier files hold (a run killed after its last checkpoint, resumed from it).
  void add_session_start(int64_t step);
  /// Writes everything queued so far before returning.
  void flush();

  const std::string& path() const { return path_; }
  /// False once a write has failed.
  bool ok() const;

 private:
  void queue_event(const std::string& event);
  void run();
  void write_pending(std::unique_lock<std::mutex>& lock);

  EventFileOptions options_;
  std::string path_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable wake_, written_;
  std::string pending_;
  uint64_t queued_ = 0, done_ = 0;  // bytes queued and bytes handled (written or dropped)
  bool failed_ = false, stopping_ = false, flush_requested_ = false;
  std::thread thread_;
};

}  // namespace cg::metrics
