#pragma once
// Small colorization data sets for evaluation tests, written through the real DatasetWriter:
// gray A, colour B, 32x32, smooth pictures whose test pairs show the same picture.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/rng.h"
#include "data/dataset_writer.h"

namespace cg::testing {

// Smooth pictures: a colour gradient per image plus a little seeded noise, HWC uint8.
inline std::vector<uint8_t> picture(int64_t size, int64_t channels, uint64_t seed) {
  SplitMix64 rng(seed);
  const double r0 = rng.below(200), g0 = rng.below(200), b0 = rng.below(200);
  std::vector<uint8_t> hwc(static_cast<size_t>(size * size * channels));
  for (int64_t y = 0; y < size; ++y) {
    for (int64_t x = 0; x < size; ++x) {
      const double rgb[3] = {r0 + 1.5 * x, g0 + 1.5 * y, b0 + 0.7 * (x + y)};
      for (int64_t c = 0; c < channels; ++c) {
        const double v = channels == 1 ? (rgb[0] + rgb[1] + rgb[2]) / 3 : rgb[c];
        hwc[static_cast<size_t>((y * size + x) * channels + c)] =
            static_cast<uint8_t>(std::min(255.0, v + rng.below(12)));
      }
    }
  }
  return hwc;
}

// Gray A, colour B, 32x32; test pairs show the same picture (a colorization set).
inline void write_eval_dataset(const std::string& dir, int64_t train, int64_t test,
                               uint64_t test_seed) {
  data::DatasetWriterOptions options;
  options.overwrite = true;
  data::DatasetWriter writer(dir, "evaluator test", options);
  for (const auto& [split, count] : {std::pair{"train", train}, std::pair{"test", test}}) {
    const uint64_t seed = std::string(split) == "test" ? test_seed : 1000;
    writer.begin("A", split, count, 32, 32, 1);
    writer.begin("B", split, count, 32, 32, 3);
    for (int64_t i = 0; i < count; ++i) {
      writer.append("A", split, picture(32, 1, seed + static_cast<uint64_t>(i)).data());
      writer.append("B", split, picture(32, 3, seed + static_cast<uint64_t>(i)).data());
    }
  }
  writer.finish(/*paired_test=*/true);
}

}  // namespace cg::testing
