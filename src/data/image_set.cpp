#include "data/image_set.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"

namespace cg::data {

ImageSet::ImageSet(const std::string& dir, const DatasetManifest& manifest,
                   const std::string& domain, const std::string& split)
    : name_(dir + " domain " + domain + " (" + split + ")") {
  const std::vector<ShardEntry> entries = manifest.select(domain, split);
  CG_REQUIRE(!entries.empty(), FileError, dir, ": the data set has no images of domain ", domain,
             " in split ", split);
  for (const ShardEntry& e : entries) {
    const std::string path = dir + "/" + e.file;
    std::error_code error;
    CG_REQUIRE(!std::filesystem::is_directory(path, error), FileError, path,
               ": shard listed in the manifest is a directory, not a file");
    const auto bytes = std::filesystem::file_size(path, error);
    CG_REQUIRE(!error, FileError, path, ": shard listed in the manifest is missing");
    CG_REQUIRE(static_cast<int64_t>(bytes) == e.bytes, FileError, path, ": ", bytes,
               " bytes, the manifest says ", e.bytes, " (truncated or replaced?)");
    auto shard = std::make_unique<ShardReader>(path);
    const ShardInfo& info = shard->info();
    CG_REQUIRE(info.domain == e.domain && info.split == e.split && info.count == e.count &&
                   info.height == e.height && info.width == e.width && info.channels == e.channels,
               FileError, path, ": holds ", info.count, " images ", info.height, "x", info.width,
               "x", info.channels, " of domain ", info.domain, "/", info.split,
               ", the manifest says ", e.count, " ", e.height, "x", e.width, "x", e.channels,
               " of ", e.domain, "/", e.split);
    if (shards_.empty()) {
      height_ = info.height;
      width_ = info.width;
      channels_ = info.channels;
    }
    CG_REQUIRE(info.height == height_ && info.width == width_ && info.channels == channels_,
               FileError, path, ": images are ", info.height, "x", info.width, "x", info.channels,
               ", other shards of ", name_, " hold ", height_, "x", width_, "x", channels_);
    starts_.push_back(size_);
    size_ += info.count;
    shards_.push_back(std::move(shard));
  }
}

void ImageSet::read(int64_t index, uint8_t* hwc) const {
  CG_REQUIRE(index >= 0 && index < size_, FileError, name_, ": image ", index, " out of range");
  const auto shard = std::upper_bound(starts_.begin(), starts_.end(), index) - starts_.begin() - 1;
  shards_[size_t(shard)]->read(index - starts_[size_t(shard)], hwc);
}

uint32_t ImageSet::checksum(int64_t index) const {
  CG_REQUIRE(index >= 0 && index < size_, FileError, name_, ": image ", index, " out of range");
  const auto shard = std::upper_bound(starts_.begin(), starts_.end(), index) - starts_.begin() - 1;
  return shards_[size_t(shard)]->checksum(index - starts_[size_t(shard)]);
}

}  // namespace cg::data
