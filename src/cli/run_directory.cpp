#include "cli/run_directory.h"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <random>
#include <vector>

#include "common/error.h"
#include "common/file_util.h"
#include "train/checkpoint_store.h"

namespace cg::cli {
namespace fs = std::filesystem;
namespace {

std::string utc_time(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), format, &tm);
  return text;
}

}  // namespace

std::string run_lock_path(const std::string& run_dir) {
  return (fs::path(run_dir) / "run.lock").string();
}

std::unique_ptr<FileLock> lock_run_directory(const std::string& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  CG_REQUIRE(!ec, FileError, "--run-dir ", run_dir,
             ": cannot make it: ", os_error_text(ec.value()));
  std::string holder;
  std::unique_ptr<FileLock> lock = FileLock::try_acquire(run_lock_path(run_dir), &holder);
  CG_REQUIRE(lock != nullptr, ConfigError, "--run-dir ", run_dir,
             " is in use by another cyclegan_dist (", holder,
             "): wait for it to end, or give another --run-dir");
  return lock;
}

std::string claim_run_directory(const Config& config) {
  const auto& t = config.train;
  if (!t.resume.empty()) return "";
  const fs::path run_dir(t.run_dir);
  const train::CheckpointStore store((run_dir / "checkpoints").string(), 1);
  const std::vector<std::string> numbered = store.list();
  std::error_code ec;
  const bool has_best = fs::exists(store.best_path(), ec);
  if (numbered.empty() && !has_best) return "";
  const std::string held = numbered.empty() ? store.best_path() : numbered.front();
  std::string base = t.run_dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  base += ".replaced-";
  CG_REQUIRE(config.overwrite, ConfigError, "--run-dir ", t.run_dir,
             " holds the checkpoints of a run (", held,
             "): continue that run with --resume auto, or start a new one there with --overwrite "
             "(moves its contents to ",
             base, "<time>) or another --run-dir");
  std::string aside = base + utc_time("%Y%m%d-%H%M%S");
  for (int n = 2; fs::exists(aside, ec); ++n) {
    aside = base + utc_time("%Y%m%d-%H%M%S") + "-" + std::to_string(n);
  }
  fs::create_directory(aside, ec);
  CG_REQUIRE(!ec, FileError, "--overwrite: cannot make ", aside, ": ", os_error_text(ec.value()));
  // Entry by entry, each rename atomic: an interrupted move leaves every file in one place
  // or the other. The lock stays: this process holds it.
  const std::string lock_name = fs::path(run_lock_path(t.run_dir)).filename().string();
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    if (entry.path().filename() != lock_name) entries.push_back(entry.path());
  }
  for (const fs::path& entry : entries) {
    fs::rename(entry, fs::path(aside) / entry.filename(), ec);
    CG_REQUIRE(!ec, FileError, "--overwrite: cannot move ", entry.string(), " to ", aside, ": ",
               os_error_text(ec.value()));
  }
  return "--overwrite: moved the previous contents of " + t.run_dir + " to " + aside;
}

std::string new_run_id() {
  std::random_device device;
  std::mt19937_64 bits((static_cast<uint64_t>(device()) << 32) ^ device());
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(bits()));
  return utc_time("%Y%m%dT%H%M%SZ") + "-" + suffix;
}

}  // namespace cg::cli
