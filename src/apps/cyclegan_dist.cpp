// cyclegan_dist: trains a CycleGAN, data-parallel when started by mpirun or srun.
// See README.md for usage. main() parses, builds the run (cli::Job), runs it, and maps
// errors to exit codes: 2 for a configuration error, 1 for any other.
#include <memory>
#include <optional>

#include "cli/command_line.h"
#include "cli/job.h"
#include "common/error.h"
#include "common/log.h"
#include "common/stop_request.h"
#include "parallel/mpi_environment.h"

int main(int argc, char** argv) {
  // A rank may not fail alone: with more than one rank, any error ends the whole job.
  std::unique_ptr<cg::parallel::MpiEnvironment> mpi;
  int code = 0;
  // SIGUSR1/SIGTERM (preemption, time limit) ask for a checkpoint and a clean stop.
  cg::install_stop_handlers();
  try {
    mpi = std::make_unique<cg::parallel::MpiEnvironment>(&argc, &argv);
    cg::log::configure(mpi->rank());
    std::optional<cg::cli::Config> config = cg::cli::parse_command_line(argc, argv);
    if (!config) return 0;
    cg::cli::Job job(*std::move(config), *mpi);
    return job.run();
  } catch (const cg::ConfigError& e) {
    cg::log::error(e.what());
    code = 2;
  } catch (const std::exception& e) {
    cg::log::error(cg::describe(e));
    code = 1;
  }
  if (mpi && mpi->size() > 1) cg::parallel::MpiEnvironment::abort(code);
  return code;
}
