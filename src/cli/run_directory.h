#pragma once
// A run directory belongs to one run: its config.json, log, samples and checkpoints.
#include <memory>
#include <string>

#include "cli/config.h"
#include "common/file_lock.h"

namespace cg::cli {

/// The file whose lock makes a run directory one process's: <run-dir>/run.lock.
std::string run_lock_path(const std::string& run_dir);

/// Makes `run_dir` (if missing) and takes its lock for this process's life (FileLock: the
/// kernel frees it when the process dies). Throws ConfigError naming the holder (host, pid,
/// start time) when another process holds it, before anything else is written; FileError
/// when the directory or the lock file cannot be made.
std::unique_ptr<FileLock> lock_run_directory(const std::string& run_dir);

/// Called by rank 0 before the run writes anything into config.train.run_dir. A fresh run
/// (no --resume) into a directory that holds checkpoints throws ConfigError offering
/// --resume auto or --overwrite; with --overwrite its contents (all but run.lock, which this
/// process holds) are first moved to a new "<run-dir>.replaced-<time>". Returns what was
/// done, for the log ("" when nothing was).
std::string claim_run_directory(const Config& config);

/// A new run identity: "<UTC time>-<16 random hex digits>", unique across hosts.
std::string new_run_id();

}  // namespace cg::cli
