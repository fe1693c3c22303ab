#pragma once
// Small data sets written through the real DatasetWriter, whose images say who they are:
// pixel (0, 0) of image i holds i % 256 and pixel (0, 1) holds i / 256 (every channel);
// the rest is a seeded pattern.
#include <filesystem>
#include <string>
#include <vector>

#include "common/rng.h"
#include "data/dataset_writer.h"

namespace cg::testing {

struct DomainSpec {
  int64_t count = 8, size = 8, channels = 3;
};

inline std::vector<uint8_t> labelled_image(int64_t index, int64_t size, int64_t channels,
                                           uint64_t seed) {
  std::vector<uint8_t> pixels(size_t(size * size * channels));
  SplitMix64 rng(mix_seed(seed, uint64_t(index)));
  for (auto& p : pixels) p = static_cast<uint8_t>(rng.below(256));
  for (int64_t c = 0; c < channels; ++c) {
    pixels[size_t(c)] = static_cast<uint8_t>(index % 256);
    pixels[size_t(channels + c)] = static_cast<uint8_t>(index / 256);
  }
  return pixels;
}

/// Writes a data set with train splits A and B (and test splits when `test` > 0).
inline data::DatasetManifest make_dataset(const std::string& dir, DomainSpec a, DomainSpec b,
                                          int64_t shard_size = 5, int64_t test = 0) {
  std::filesystem::remove_all(dir);
  data::DatasetWriterOptions options;
  options.shard_size = shard_size;
  data::DatasetWriter writer(dir, "test pattern", options);
  for (const char* split : {"train", "test"}) {
    const bool is_test = std::string(split) == "test";
    if (is_test && test == 0) continue;
    for (const auto& [domain, spec] : {std::pair{"A", a}, std::pair{"B", b}}) {
      const int64_t count = is_test ? test : spec.count;
      writer.begin(domain, split, count, spec.size, spec.size, spec.channels);
      for (int64_t i = 0; i < count; ++i) {
        auto image =
            labelled_image(i, spec.size, spec.channels, is_test ? 7 : (domain[0] == 'A' ? 1 : 2));
        writer.append(domain, split, image.data());
      }
    }
  }
  return writer.finish(/*paired_test=*/false);
}

inline std::string temp_dir(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cyclegan_" + name)).string();
}

}  // namespace cg::testing
