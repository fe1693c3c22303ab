// TensorBoardSink's scalars for step records, read back from the event file: the memory
// and fp16 loss-scale tags appear with the step's values when there is something to show,
// and not otherwise. (TensorBoard's own reader on real runs: tensorboard_e2e.py.)
#include "metrics/tensorboard_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "common/file_util.h"
#include "train/loss_terms.h"

namespace cg::metrics {
namespace {

namespace fs = std::filesystem;

// The payloads of the TFRecords of `file` (framing checked by tensorboard_events_test).
std::vector<std::string> records(const std::string& file) {
  const std::string bytes = read_file(file);
  std::vector<std::string> out;
  for (size_t at = 0; at + 12 <= bytes.size();) {
    uint64_t n = 0;
    std::memcpy(&n, bytes.data() + at, 8);
    out.push_back(bytes.substr(at + 12, n));
    at += 12 + n + 4;
  }
  return out;
}

// The simple_value of `tag` in an encoded Event: Summary.Value holds the tag (field 1,
// length-delimited) then simple_value (field 2, fixed32 float).
std::optional<float> scalar(const std::string& event, const std::string& tag) {
  const std::string key = std::string(1, '\x0a') + static_cast<char>(tag.size()) + tag + '\x15';
  const size_t at = event.find(key);
  if (at == std::string::npos || at + key.size() + 4 > event.size()) return std::nullopt;
  float value = 0;
  std::memcpy(&value, event.data() + at + key.size(), 4);
  return value;
}

// step -> the scalar events' payloads, after feeding `steps` to a fresh sink.
std::map<int64_t, std::string> events_of(const std::vector<train::StepRecord>& steps,
                                         const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("cg_tb_sink_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string path;
  {
    TensorBoardOptions options;
    options.dir = dir.string();
    options.log_every = 1;
    TensorBoardSink sink(options);
    for (const auto& r : steps) sink.on_step(r);
    path = sink.path();
  }
  std::map<int64_t, std::string> out;
  for (const std::string& event : records(path)) {
    if (event.find("loss/D_A") == std::string::npos) continue;  // header, session start
    // Event.step is field 2 (varint), right after wall_time (field 1, fixed64): 9 bytes.
    TORCH_INTERNAL_ASSERT(event.size() > 10 && event[9] == '\x10');
    int64_t step = 0;
    for (size_t i = 10, shift = 0;; ++i, shift += 7) {
      step |= static_cast<int64_t>(event[i] & 0x7f) << shift;
      if (!(event[i] & 0x80)) break;
    }
    out[step] = event;
  }
  fs::remove_all(dir);
  return out;
}

train::StepRecord step(int64_t n) {
  train::StepRecord r;
  r.step = n;
  r.total_steps = 10;
  r.images = 2;
  return r;
}

TEST(TensorBoardSink, OneLossTagPerTermOfTheLossTable) {
  train::StepRecord r = step(1);
  for (size_t i = 0; i < train::kLossTerms.size(); ++i) {
    r.losses.*train::kLossTerms[i].value = static_cast<double>(i) + 0.5;
  }
  const auto events = events_of({r}, "loss_table");
  ASSERT_EQ(events.size(), 1u);
  size_t tags = 0;
  for (size_t at = 0; (at = events.at(1).find("loss/", at)) != std::string::npos; ++at) ++tags;
  EXPECT_EQ(tags, train::kLossTerms.size());
  for (size_t i = 0; i < train::kLossTerms.size(); ++i) {
    const std::string tag = std::string("loss/") + train::kLossTerms[i].name;
    EXPECT_EQ(scalar(events.at(1), tag), static_cast<float>(i) + 0.5f) << tag;
  }
}

TEST(TensorBoardSink, PeakMemoryAndLossScalesAreScalarsOfTheirStep) {
  train::StepRecord fp16 = step(1);
  fp16.peak_memory_bytes = int64_t{3} << 30;
  fp16.loss_scale_g = 65536;
  fp16.loss_scale_d_a = 32768;
  fp16.loss_scale_d_b = 16384;
  train::StepRecord next = fp16;
  next.step = 2;
  next.peak_memory_bytes = int64_t{2} << 30;
  next.loss_scale_g = 32768;
  const auto events = events_of({fp16, next}, "fp16");
  ASSERT_EQ(events.size(), 2u);
  const std::string& first = events.at(1);
  EXPECT_EQ(scalar(first, "memory/peak_bytes"), 3221225472.0f);
  EXPECT_EQ(scalar(first, "loss_scale/G"), 65536.0f);
  EXPECT_EQ(scalar(first, "loss_scale/D_A"), 32768.0f);
  EXPECT_EQ(scalar(first, "loss_scale/D_B"), 16384.0f);
  EXPECT_EQ(scalar(events.at(2), "memory/peak_bytes"), 2147483648.0f);
  EXPECT_EQ(scalar(events.at(2), "loss_scale/G"), 32768.0f);
}

TEST(TensorBoardSink, NoLossScaleTagsWithoutScalingNorAPeakWhenNotMeasured) {
  train::StepRecord fp32 = step(1);
  fp32.peak_memory_bytes = 123 << 20;
  train::StepRecord unmeasured = step(2);
  const auto events = events_of({fp32, unmeasured}, "fp32");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(scalar(events.at(1), "memory/peak_bytes"), static_cast<float>(123 << 20));
  EXPECT_EQ(scalar(events.at(2), "memory/peak_bytes"), std::nullopt);
  for (const auto& [n, event] : events) {
    EXPECT_NE(scalar(event, "loss/D_A"), std::nullopt) << "step " << n;
    EXPECT_EQ(event.find("loss_scale/"), std::string::npos) << "step " << n;
  }
}

}  // namespace
}  // namespace cg::metrics
