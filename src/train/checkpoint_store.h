#pragma once
// Checkpoints of one run directory: <dir>/ckpt_<step>.pt (a LibTorch archive) and its
// manifest <dir>/ckpt_<step>.json (step, size, CRC-32, caller metadata), each written
// atomically, the manifest last: a checkpoint without a manifest is an interrupted write.
// Besides the rotation, <dir>/ckpt_best.pt (+ .json) holds the best checkpoint by an
// evaluation score: it is never pruned and never picked by list() (so not by resume auto).
// Not thread-safe; one writer (rank 0) per directory.
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace cg::train {

/// The "format" field of every checkpoint manifest cyclegan_dist writes.
inline constexpr const char* kCheckpointFormat = "cyclegan_dist checkpoint v1";

/// Throws FileError naming `path` unless `metadata`, the manifest of the checkpoint at
/// `path`, is of kCheckpointFormat and records the run's configuration. The one format
/// check of every reader (resume, translate, export).
void check_checkpoint_format(const std::string& path, const nlohmann::json& metadata);

class CheckpointStore {
 public:
  /// keep: newest checkpoints kept after each save (>= 1).
  CheckpointStore(std::string dir, int64_t keep);

  /// Writes the checkpoint of `step`, then keeps the newest `keep` checkpoints that verify
  /// (and any newer one that does not) and removes the older ones. Returns the .pt path.
  /// Throws FileError naming the file and the cause ("no space left on device") when it
  /// cannot write; no partial file is left then and earlier checkpoints are untouched. The
  /// first write also removes the temporaries that killed writers left in the directory.
  std::string save(int64_t step, torch::serialize::OutputArchive& archive,
                   const nlohmann::json& metadata);

  /// Writes `archive` as <dir>/ckpt_best.pt with its manifest (the step and `metadata`),
  /// replacing the previous best. Returns the .pt path. Throws FileError when it cannot
  /// write the new file; the previous best is untouched then.
  std::string save_best(int64_t step, torch::serialize::OutputArchive& archive,
                        const nlohmann::json& metadata);

  /// <dir>/ckpt_best.pt, whether or not it exists.
  std::string best_path() const;

  /// Paths of the numbered .pt files present, newest (highest step) first.
  std::vector<std::string> list() const;

  /// Reads the manifest of `pt_path` and checks the file against it. Throws FileError
  /// naming the file and the problem (missing, no manifest, wrong size, CRC mismatch).
  nlohmann::json verify(const std::string& pt_path, std::string* bytes = nullptr) const;

  /// verify()s `pt_path` and loads it into `archive`; returns the manifest's metadata.
  nlohmann::json load(const std::string& pt_path, torch::serialize::InputArchive& archive) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string write(const std::string& stem, int64_t step, torch::serialize::OutputArchive& archive,
                    const nlohmann::json& metadata);
  void prune();
  bool verifies(const std::string& path);

  std::string dir_;
  int64_t keep_;
  bool cleaned_ = false;  // stale temporaries removed
  // Files known to verify, by path: (size, modification time) when they did.
  std::map<std::string, std::pair<uintmax_t, std::filesystem::file_time_type>> verified_;
};

}  // namespace cg::train
