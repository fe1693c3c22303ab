#pragma once
// A run directory belongs to one run: its config.json, log, samples and checkpoints.
#include <string>

#include "cli/config.h"

namespace cg::cli {

/// Called by rank 0 before the run writes anything into config.train.run_dir. A fresh run
/// (no --resume) into a directory that holds checkpoints throws ConfigError offering
/// --resume auto or --overwrite; with --overwrite the directory is first renamed to
/// "<run-dir>.replaced-<time>" (and a new one made). Returns what was done, for the log
/// ("" when nothing was).
std::string claim_run_directory(const Config& config);

/// A new run identity: "<UTC time>-<16 random hex digits>", unique across hosts.
std::string new_run_id();

}  // namespace cg::cli
