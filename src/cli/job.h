#pragma once
// One cyclegan_dist run on this rank: the objects a parsed and validated Config asks for
// (data source, communicator, trainer, metrics sinks, evaluator), built in start order
// (threads -> device -> MPI communicator -> run directory -> NCCL -> data -> trainer ->
// sinks -> evaluator) and then run. cyclegan_dist's main() only parses, builds a Job,
// runs it and maps errors to exit codes.
#include <memory>

#include "cli/config.h"
#include "parallel/mpi_environment.h"

namespace cg::cli {

class Job {
 public:
  /// Builds the run of `config` (from parse_command_line) on this rank of `mpi`, which
  /// must outlive the Job. Collective: every rank of `mpi` constructs its Job. Sets
  /// LibTorch's intra-op threads, turns a bare --device cuda into this rank's GPU, and on
  /// rank 0 claims the run directory and writes config.json and train.log. Throws
  /// ConfigError for what this process or build cannot run as asked (a bad --pushgateway
  /// URL, no visible CUDA device, a backend that does not fit, a metrics port past 65535),
  /// Error (or another std::exception) for everything else. On a throw, an NCCL
  /// communicator already made is aborted, not destroyed (see NcclCommunicator).
  Job(Config config, parallel::MpiEnvironment& mpi);
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  /// Trains to the last step or to a stop request (a stop signal, agreed by all ranks),
  /// then returns the process's exit code: 0, or kExitStopped after a stop request (the
  /// run continues with --resume auto). Call once. When training throws, aborts the NCCL
  /// communicator (if any) before rethrowing, so that no later teardown waits on a peer
  /// that has failed.
  int run();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace cg::cli
