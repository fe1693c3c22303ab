#include "data/dataset_writer.h"

#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/file_util.h"
#include "common/stop_request.h"

namespace cg::data {
namespace {
std::string key(const std::string& domain, const std::string& split) {
  return split + "_" + domain;
}
}  // namespace

DatasetWriter::DatasetWriter(std::string dir, std::string source, DatasetWriterOptions options)
    : dir_(std::move(dir)), source_(std::move(source)), options_(options) {
  CG_REQUIRE(options_.shard_size > 0, ConfigError, "--shard-size must be positive, got ",
             options_.shard_size);
  namespace fs = std::filesystem;
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  std::error_code error;
  CG_REQUIRE(!fs::exists(dir_, error) || fs::is_directory(dir_, error), FileError, dir_,
             ": exists and is not a directory");
  CG_REQUIRE(
      !fs::exists(dir_ + "/" + kManifestName, error) || options_.overwrite, FileError, dir_,
      ": already holds a data set (manifest.json); choose another --output or pass --overwrite");
  const fs::path parent = fs::absolute(dir_, error).parent_path();
  fs::create_directories(parent, error);
  CG_REQUIRE(!error, FileError, parent.string(), ": cannot create the output's parent directory (",
             error.message(), ")");
  remove_stale_temporaries(parent.string());
  staging_ = temporary_sibling(dir_, "building");
  fs::create_directory(staging_, error);
  CG_REQUIRE(!error, FileError, dir_, ": cannot create the staging directory ", staging_, " (",
             error.message(), ")");
  manifest_.source = source_;
}

DatasetWriter::~DatasetWriter() {
  if (finished_) return;
  streams_.clear();  // closes open shards before their folder goes
  std::error_code ignored;
  std::filesystem::remove_all(staging_, ignored);
}

void DatasetWriter::begin(const std::string& domain, const std::string& split, int64_t total,
                          int64_t height, int64_t width, int64_t channels) {
  CG_REQUIRE(total > 0, FileError, dir_, ": domain ", domain, " of split ", split,
             " has no images");
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

void DatasetWriter::append(const std::string& domain, const std::string& split,
                           const uint8_t* hwc) {
  auto it = streams_.find(key(domain, split));
  CG_REQUIRE(it != streams_.end(), ConfigError, "stream ", key(domain, split), " was not declared");
  Stream& s = it->second;
  CG_REQUIRE(s.written < s.total, FileError, dir_, ": more than ", s.total, " images for ",
             key(domain, split));
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
    s.shard = std::make_unique<ShardWriter>(staging_ + "/" + name, info, options_.gzip_level);
  }
  s.shard->append(hwc);
  ++s.written;
  if (s.written % options_.shard_size == 0 || s.written == s.total) close_shard(s);
}

void DatasetWriter::close_shard(Stream& s) {
  s.shard->finish();
  raise_test_signal("shard-written");
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
  namespace fs = std::filesystem;
  for (const auto& [name, s] : streams_) {
    CG_REQUIRE(s.written == s.total, FileError, dir_, ": ", name, " got ", s.written, " of ",
               s.total, " images");
  }
  manifest_.paired_test = paired_test;
  write_manifest(staging_, manifest_);
  std::error_code error;
  if (!fs::exists(dir_, error)) {
    CG_REQUIRE(::rename(staging_.c_str(), dir_.c_str()) == 0, FileError, dir_,
               ": cannot move the new data set into place: ", os_error_text(errno));
  } else {
    // What the folder holds beyond its old data set (the manifest and *.h5 shards), such as
    // notes or caches, moves to the new one.
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      const bool data_set_file = name == kManifestName || entry.path().extension() == ".h5";
      if (!data_set_file && !fs::exists(staging_ + "/" + name, error)) {
        fs::rename(entry.path(), staging_ + "/" + name, error);
        CG_REQUIRE(!error, FileError, entry.path().string(),
                   ": cannot move it into the new data set (", error.message(), ")");
      }
    }
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0) {
      // File systems without an atomic exchange (some network ones): two renames.
      const int exchange_error = errno;
      CG_REQUIRE(exchange_error == EINVAL || exchange_error == ENOSYS || exchange_error == ENOTSUP,
                 FileError, dir_,
                 ": cannot swap the new data set in: ", os_error_text(exchange_error));
      const std::string old_dir = temporary_sibling(dir_, "replaced");
      CG_REQUIRE(::rename(dir_.c_str(), old_dir.c_str()) == 0, FileError, dir_,
                 ": cannot move the old data set aside: ", os_error_text(errno));
      CG_REQUIRE(::rename(staging_.c_str(), dir_.c_str()) == 0, FileError, dir_,
                 ": cannot move the new data set into place (the old one is in ", old_dir,
                 "): ", os_error_text(errno));
      fs::rename(old_dir, staging_, error);
    }
    fs::remove_all(staging_, error);  // now the old data set
  }
  sync_directory(fs::absolute(dir_).parent_path().string());
  finished_ = true;
  return manifest_;
}

}  // namespace cg::data
