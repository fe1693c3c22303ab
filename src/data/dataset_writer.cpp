#include "data/dataset_writer.h"

#include <cstdio>
#include <filesystem>

#include "common/error.h"

namespace cg::data {
namespace {
std::string key(const std::string& domain, const std::string& split) { return split + "_" + domain; }
}  // namespace

DatasetWriter::DatasetWriter(std::string dir, std::string source, DatasetWriterOptions options)
    : dir_(std::move(dir)), source_(std::move(source)), options_(options) {
  CG_REQUIRE(options_.shard_size > 0, ConfigError, "--shard-size must be positive, got ", options_.shard_size);
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(dir_, error);
  CG_REQUIRE(!error && fs::is_directory(dir_), FileError, dir_, ": cannot create the output directory",
             error ? " (" + error.message() + ")" : "");
  const std::string manifest = dir_ + "/" + kManifestName;
  if (fs::exists(manifest)) {
    CG_REQUIRE(options_.overwrite, FileError, dir_,
               ": already holds a data set (manifest.json); choose another --output or pass --overwrite");
    fs::remove(manifest);
  }
  manifest_.source = source_;
}

void DatasetWriter::begin(const std::string& domain, const std::string& split, int64_t total,
                          int64_t height, int64_t width, int64_t channels) {
  CG_REQUIRE(total > 0, FileError, dir_, ": domain ", domain, " of split ", split, " has no images");
  auto [it, inserted] = streams_.try_emplace(key(domain, split));
  CG_REQUIRE(inserted, ConfigError, "stream ", key(domain, split), " declared twice");
  Stream& s = it->second;
  s.domain = domain;
  s.split = split;
  s.total = total;
  s.height = height;
  s.width = width;
  s.channels = channels;
}

void DatasetWriter::append(const std::string& domain, const std::string& split, const uint8_t* hwc) {
  auto it = streams_.find(key(domain, split));
  CG_REQUIRE(it != streams_.end(), ConfigError, "stream ", key(domain, split), " was not declared");
  Stream& s = it->second;
  CG_REQUIRE(s.written < s.total, FileError, dir_, ": more than ", s.total, " images for ", key(domain, split));
  if (!s.shard) {
    const int64_t index = s.written / options_.shard_size;
    char name[64];
    std::snprintf(name, sizeof(name), "%s_%s_%05lld.h5", split.c_str(), domain.c_str(),
                  static_cast<long long>(index));
    ShardInfo info;
    info.domain = domain;
    info.split = split;
    info.height = s.height;
    info.width = s.width;
    info.channels = s.channels;
    info.count = std::min(options_.shard_size, s.total - s.written);
    info.source = source_;
    s.shard = std::make_unique<ShardWriter>(dir_ + "/" + name, info, options_.gzip_level);
  }
  s.shard->append(hwc);
  ++s.written;
  if (s.written % options_.shard_size == 0 || s.written == s.total) close_shard(s);
}

void DatasetWriter::close_shard(Stream& s) {
  s.shard->finish();
  const FileDigest digest = digest_file(s.shard->path());
  ShardEntry entry;
  entry.file = std::filesystem::path(s.shard->path()).filename().string();
  entry.domain = s.domain;
  entry.split = s.split;
  entry.count = s.shard->appended();
  entry.height = s.height;
  entry.width = s.width;
  entry.channels = s.channels;
  entry.bytes = digest.bytes;
  entry.crc32 = digest.crc32;
  manifest_.shards.push_back(entry);
  s.shard.reset();
}

DatasetManifest DatasetWriter::finish(bool paired_test) {
  for (const auto& [name, s] : streams_) {
    CG_REQUIRE(s.written == s.total, FileError, dir_, ": ", name, " got ", s.written, " of ", s.total,
               " images");
  }
  manifest_.paired_test = paired_test;
  write_manifest(dir_, manifest_);
  return manifest_;
}

}  // namespace cg::data
