#pragma once
// The manifest of a data set directory (`manifest.json`, written last): every shard with its
// domain, split, count, image size, file size and CRC-32. A directory without a valid
// manifest is not a data set, whatever shards it holds. Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace cg::data {

inline constexpr int64_t kManifestFormatVersion = 1;
inline constexpr const char* kManifestName = "manifest.json";

struct ShardEntry {
  std::string file;    ///< name inside the data set directory
  std::string domain;  ///< "A" or "B"
  std::string split;   ///< "train" or "test"
  int64_t count = 0, height = 0, width = 0, channels = 0;
  int64_t bytes = 0;   ///< file size
  uint32_t crc32 = 0;  ///< CRC-32 of the whole file
};

struct DatasetManifest {
  int64_t format_version = kManifestFormatVersion;
  std::string source;  ///< what the images came from (e.g. "cifar10 colorize")
  /// True when test image i of A and of B show the same picture (colorization: gray and
  /// colour of one photograph), so translations can be scored against the truth.
  bool paired_test = false;
  std::vector<ShardEntry> shards;

  /// Shards of one domain and split, in manifest order.
  std::vector<ShardEntry> select(const std::string& domain, const std::string& split) const;
  int64_t count(const std::string& domain, const std::string& split) const;
};

/// Reads `<dir>/manifest.json`. Throws FileError naming the file and the field when it is
/// missing, not JSON, of another format version, or inconsistent.
DatasetManifest read_manifest(const std::string& dir);

/// Writes `<dir>/manifest.json` atomically.
void write_manifest(const std::string& dir, const DatasetManifest& manifest);

/// CRC-32 and size of a file, read in large blocks.
struct FileDigest {
  int64_t bytes = 0;
  uint32_t crc32 = 0;
};
FileDigest digest_file(const std::string& path);

}  // namespace cg::data
