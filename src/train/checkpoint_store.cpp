#include "train/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"

namespace cg::train {

void check_checkpoint_format(const std::string& path, const nlohmann::json& metadata) {
  const std::string format = metadata.value("format", "");
  CG_REQUIRE(format == kCheckpointFormat, FileError, "checkpoint ", path, " is not a ",
             kCheckpointFormat, " file (format '", format, "')");
  CG_REQUIRE(metadata.contains("config") && metadata["config"].is_object(), FileError,
             "checkpoint ", path, " records no configuration of its run");
}
namespace fs = std::filesystem;
namespace {

constexpr int kManifestVersion = 1;

std::string manifest_path(const std::string& pt_path) {
  return fs::path(pt_path).replace_extension(".json").string();
}

}  // namespace

CheckpointStore::CheckpointStore(std::string dir, int64_t keep)
    : dir_(std::move(dir)), keep_(keep) {
  CG_REQUIRE(keep_ >= 1, ConfigError, "--keep-checkpoints must be at least 1, got ", keep_);
}

std::string CheckpointStore::save(int64_t step, torch::serialize::OutputArchive& archive,
                                  const nlohmann::json& metadata) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt_%08lld", static_cast<long long>(step));
  const std::string pt_path = write(name, step, archive, metadata);
  prune();
  return pt_path;
}

// Keeps the newest keep_ checkpoints that verify, and whatever is newer than the oldest of
// them (an unreadable newest file is kept for inspection but pushes no good one out).
void CheckpointStore::prune() {
  int64_t good = 0;
  std::error_code ec;
  for (const std::string& path : list()) {
    if (good >= keep_) {
      fs::remove(manifest_path(path), ec);
      fs::remove(path, ec);
    } else if (verifies(path)) {
      ++good;
    } else {
      log::warn("checkpoint ", path, " does not verify; it is not counted among the ", keep_,
                " kept");
    }
  }
}

// verify() reads the whole file: a file seen to verify (or written by this store) is not
// read again while its size and modification time stay the same.
bool CheckpointStore::verifies(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec);
  if (ec) return false;
  const auto known = verified_.find(path);
  if (known != verified_.end() && known->second == std::pair{size, mtime}) return true;
  try {
    verify(path);
  } catch (const FileError&) {
    return false;
  }
  verified_[path] = {size, mtime};
  return true;
}

std::string CheckpointStore::save_best(int64_t step, torch::serialize::OutputArchive& archive,
                                       const nlohmann::json& metadata) {
  return write("ckpt_best", step, archive, metadata);
}

std::string CheckpointStore::best_path() const {
  return (fs::path(dir_) / "ckpt_best.pt").string();
}

std::string CheckpointStore::write(const std::string& stem, int64_t step,
                                   torch::serialize::OutputArchive& archive,
                                   const nlohmann::json& metadata) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  CG_REQUIRE(!ec, FileError, "cannot create checkpoint directory ", dir_, ": ",
             os_error_text(ec.value()));
  if (!cleaned_) {
    for (const auto& stale : remove_stale_temporaries(dir_))
      log::info("removed ", stale, ", left by a checkpoint write that was killed");
    cleaned_ = true;
  }
  const std::string pt_path = (fs::path(dir_) / (stem + ".pt")).string();

  uLong crc = ::crc32(0L, Z_NULL, 0);
  uint64_t bytes = 0;
  produce_file_atomic(pt_path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CG_REQUIRE(fd >= 0, FileError, "cannot write checkpoint ", pt_path, ": ", os_error_text(errno));
    // LibTorch's archive writer throws from its destructor on a short write, which ends
    // the process: every chunk is taken, and the first error is reported once it is done.
    int error = 0;
    try {
      archive.save_to([&](const void* data, size_t size) -> size_t {
        const auto* at = static_cast<const char*>(data);
        for (size_t left = size; left > 0 && error == 0;) {
          const ssize_t n = ::write(fd, at, left);
          if (n > 0) {
            at += n;
            left -= static_cast<size_t>(n);
          } else if (n == 0 || errno != EINTR) {
            error = n == 0 ? EIO : errno;
          }
        }
        crc = ::crc32_z(crc, static_cast<const Bytef*>(data), size);
        bytes += size;
        return size;
      });
    } catch (const std::exception& e) {
      ::close(fd);
      throw FileError(detail::str_cat("cannot write checkpoint ", pt_path, ": ", describe(e)));
    }
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    if (::close(fd) != 0 && error == 0) error = errno;
    CG_REQUIRE(error == 0, FileError, "cannot write checkpoint ", pt_path, ": ",
               os_error_text(error));
    // ckpt_best is replaced in place: once the new file is complete, its old manifest goes,
    // so a crash before the new manifest reads as an interrupted write, not a corrupt file.
    fs::remove(manifest_path(pt_path), ec);
  });
  nlohmann::json manifest = {{"version", kManifestVersion},
                             {"step", step},
                             {"bytes", bytes},
                             {"crc32", static_cast<uint32_t>(crc)},
                             {"metadata", metadata}};
  try {
    write_file_atomic(manifest_path(pt_path), manifest.dump(2) + "\n");
  } catch (const FileError&) {
    // Without its manifest the file reads as an interrupted write: take it away now.
    fs::remove(pt_path, ec);
    throw;
  }
  const auto size = fs::file_size(pt_path, ec);
  const auto mtime = fs::last_write_time(pt_path, ec);
  if (!ec) verified_[pt_path] = {size, mtime};
  return pt_path;
}

std::vector<std::string> CheckpointStore::list() const {
  static const std::regex kName(R"(ckpt_(\d+)\.pt)");
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return {};
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::smatch match;
    std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, kName)) {
      found.emplace_back(std::stoll(match[1].str()), entry.path().string());
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<std::string> paths;
  for (auto& [step, path] : found) paths.push_back(path);
  return paths;
}

nlohmann::json CheckpointStore::verify(const std::string& pt_path, std::string* bytes) const {
  const std::string mpath = manifest_path(pt_path);
  CG_REQUIRE(fs::exists(pt_path), FileError, "checkpoint ", pt_path, " does not exist");
  CG_REQUIRE(fs::exists(mpath), FileError, "checkpoint ", pt_path, " has no manifest ", mpath,
             " (the write was interrupted)");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(mpath));
    (void)manifest.at("bytes").get<uint64_t>();
    (void)manifest.at("crc32").get<uint32_t>();
  } catch (const nlohmann::json::exception& e) {
    throw FileError(detail::str_cat("checkpoint manifest ", mpath, " is malformed: ", describe(e)));
  }
  std::string content = read_file(pt_path);
  CG_REQUIRE(content.size() == manifest["bytes"].get<uint64_t>(), FileError, "checkpoint ", pt_path,
             " is ", content.size(), " bytes, its manifest says ",
             manifest["bytes"].get<uint64_t>(), " (truncated or overwritten)");
  CG_REQUIRE(crc32_of(content) == manifest["crc32"].get<uint32_t>(), FileError, "checkpoint ",
             pt_path, " is corrupt: CRC-32 mismatch");
  if (bytes != nullptr) *bytes = std::move(content);
  return manifest.value("metadata", nlohmann::json::object());
}

nlohmann::json CheckpointStore::load(const std::string& pt_path,
                                     torch::serialize::InputArchive& archive) const {
  std::string content;
  nlohmann::json metadata = verify(pt_path, &content);
  try {
    archive.load_from(content.data(), content.size());
  } catch (const std::exception& e) {
    throw FileError(detail::str_cat("checkpoint ", pt_path, " cannot be read: ", describe(e)));
  }
  return metadata;
}

}  // namespace cg::train
