#pragma once
// Builds a data set directory: images of each (domain, split) stream go into shards of at
// most `shard_size` images, each shard is renamed into place when complete, and the manifest
// is written last, so an interrupted build never leaves a directory that looks valid.
// Not thread-safe: one thread appends. Torch-free.
#include <map>
#include <memory>
#include <string>

#include "data/dataset_manifest.h"
#include "data/shard.h"

namespace cg::data {

struct DatasetWriterOptions {
  int64_t shard_size = 10000;  ///< images per shard
  int gzip_level = 0;          ///< 0: uncompressed; 1..9: deflate per image
  bool overwrite = false;      ///< replace a data set already in the directory
};

class DatasetWriter {
 public:
  /// Creates `dir` if needed. Throws FileError if it already holds a data set (a manifest)
  /// and options.overwrite is false; with overwrite the old manifest is removed first.
  DatasetWriter(std::string dir, std::string source, DatasetWriterOptions options = {});

  /// Declares a stream of `total` images of one geometry; call once per (domain, split).
  void begin(const std::string& domain, const std::string& split, int64_t total, int64_t height,
             int64_t width, int64_t channels);
  /// Appends the next image of a declared stream: (height, width, channels) uint8 HWC.
  void append(const std::string& domain, const std::string& split, const uint8_t* hwc);
  /// Checks that every stream got its images and writes the manifest. Returns it.
  DatasetManifest finish(bool paired_test);

  const std::string& dir() const { return dir_; }

 private:
  struct Stream {
    std::string domain, split;
    int64_t total = 0, height = 0, width = 0, channels = 0, written = 0;
    std::unique_ptr<ShardWriter> shard;
  };
  void close_shard(Stream& stream);

  std::string dir_, source_;
  DatasetWriterOptions options_;
  std::map<std::string, Stream> streams_;
  DatasetManifest manifest_;
};

}  // namespace cg::data
