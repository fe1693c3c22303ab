#pragma once
// Builds a data set directory: images of each (domain, split) stream go into shards of at
// most `shard_size` images in a staging folder next to the target (".<name>.building.<host>.
// <pid>"); finish() writes the manifest there and only then puts the folder in the target's
// place (with --overwrite, atomically exchanging it with the old data set, which is removed
// after). A build that fails or is killed never touches the target: the old data set stays
// readable, and the staging folder is removed (by the destructor, or by the next build
// next to it when the process was killed). Not thread-safe: one thread appends. Torch-free.
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
  /// Throws FileError if `dir` already holds a data set (a manifest) and options.overwrite
  /// is false, or when the staging folder next to it cannot be made.
  DatasetWriter(std::string dir, std::string source, DatasetWriterOptions options = {});
  /// Removes the staging folder unless finish() put it in place.
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  /// Declares a stream of `total` images of one geometry; call once per (domain, split).
  void begin(const std::string& domain, const std::string& split, int64_t total, int64_t height,
             int64_t width, int64_t channels);
  /// Appends the next image of a declared stream: (height, width, channels) uint8 HWC.
  void append(const std::string& domain, const std::string& split, const uint8_t* hwc);
  /// Checks that every stream got its images, writes the manifest and puts the data set in
  /// place at dir(). Files of an overwritten folder that are not part of its data set are
  /// kept (moved into the new one). Returns the manifest.
  DatasetManifest finish(bool paired_test);

  const std::string& dir() const { return dir_; }

 private:
  struct Stream {
    std::string domain, split;
    int64_t total = 0, height = 0, width = 0, channels = 0, written = 0;
    std::unique_ptr<ShardWriter> shard;
  };
  void close_shard(Stream& stream);

  std::string dir_, staging_, source_;
  bool finished_ = false;
  DatasetWriterOptions options_;
  std::map<std::string, Stream> streams_;
  DatasetManifest manifest_;
};

}  // namespace cg::data
