#pragma once
// The images of one domain and split of a data set, across its shards, as one indexable
// sequence. Torch-free.
#include <memory>
#include <string>
#include <vector>

#include "data/dataset_manifest.h"
#include "data/shard.h"

namespace cg::data {

class ImageSet {
 public:
  /// Opens every shard of (domain, split) in the manifest of `dir`. Throws FileError naming
  /// the shard when one is missing, has another size than the manifest says (truncated),
  /// disagrees with the manifest, or when the shards differ in geometry; and naming the
  /// data set when the domain has no images in that split.
  ImageSet(const std::string& dir, const DatasetManifest& manifest, const std::string& domain,
           const std::string& split);

  int64_t size() const { return size_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int64_t channels() const { return channels_; }
  int64_t image_bytes() const { return height_ * width_ * channels_; }
  /// Copies image `index` (0 <= index < size()) into `hwc`; checks its CRC-32. Thread-safe.
  void read(int64_t index, uint8_t* hwc) const;
  /// The CRC-32 of image `index` as its shard stores it (no pixel is read): what the
  /// image's content is, for keys of data computed from it.
  uint32_t checksum(int64_t index) const;
  /// "<dir> domain A (train)": for messages.
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<int64_t> starts_;  // index of each shard's first image
  int64_t size_ = 0, height_ = 0, width_ = 0, channels_ = 0;
};

}  // namespace cg::data
