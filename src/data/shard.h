#pragma once
// One HDF5 shard of a data set: the images of one domain and split (see
// dataset_tools/FORMAT.md). Dataset `images`: uint8 (count, height, width, channels), one
// image per chunk; dataset `checksums`: uint32 (count), the CRC-32 of each image's bytes;
// attributes on the root group name what the shard holds. Torch-free.
#include <cstdint>
#include <string>

#include "common/hdf5.h"

namespace cg::data {

inline constexpr int64_t kShardFormatVersion = 1;
/// Largest image side a shard may declare (a 8192x8192 RGB image is 192 MiB): a header
/// claiming more is refused before anything is allocated.
inline constexpr int64_t kMaxImageSide = 8192;

/// What a shard holds, as stored in its attributes.
struct ShardInfo {
  int64_t format_version = kShardFormatVersion;
  std::string domain;                           ///< "A" or "B"
  std::string split;                            ///< "train" or "test"
  int64_t height = 0, width = 0, channels = 0;  ///< channels: 1 (gray) or 3 (RGB)
  int64_t count = 0;                            ///< images in the shard
  std::string source;                           ///< free text: where the images came from

  int64_t image_bytes() const { return height * width * channels; }
};

/// Writes one shard under a temporary name; finish() renames it into place, so a reader
/// never sees a half-written shard under the final name. Not thread-safe.
class ShardWriter {
 public:
  /// `info.count` images must be appended before finish(). gzip_level 0 stores the images
  /// uncompressed (fastest to read); 1..9 compresses each image's chunk with deflate.
  ShardWriter(std::string path, ShardInfo info, int gzip_level = 0);
  ~ShardWriter();  // an unfinished shard's temporary file is removed
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  /// hwc: image_bytes() bytes, (height, width, channels) uint8, channels interleaved.
  void append(const uint8_t* hwc);
  /// Closes, fsyncs and renames the shard into place. Throws FileError if fewer than
  /// info.count images were appended.
  void finish();

  const std::string& path() const { return path_; }
  int64_t appended() const { return appended_; }

 private:
  std::string path_, tmp_path_;
  ShardInfo info_;
  int64_t appended_ = 0;
  bool finished_ = false;
  h5::Handle file_, images_, checksums_;
};

/// Read access to one shard. The constructor checks the signature, the format version,
/// dtype and shape of both datasets against the attributes; each read checks the image's
/// CRC-32. All errors are FileError naming the file. Reads are thread-safe.
class ShardReader {
 public:
  explicit ShardReader(std::string path);

  const ShardInfo& info() const { return info_; }
  const std::string& path() const { return path_; }
  /// Copies image `index` into `hwc` (info().image_bytes() bytes); throws FileError when its
  /// checksum does not match the stored one.
  void read(int64_t index, uint8_t* hwc) const;
  /// The stored CRC-32 of image `index`.
  uint32_t checksum(int64_t index) const { return checksums_.at(static_cast<size_t>(index)); }

 private:
  std::string path_;
  ShardInfo info_;
  h5::Handle file_, images_;
  std::vector<uint32_t> checksums_;
};

}  // namespace cg::data
