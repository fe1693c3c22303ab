#pragma once
// The MPI process group: initialised once per process, finalised by the destructor.
// Works under mpirun, under Slurm's srun --mpi=pmix, and run directly (a world of one).
// Owns MPI: not copyable or movable; create exactly one, first, in main().
#include <mpi.h>

namespace cg::parallel {

class MpiEnvironment {
 public:
  /// Initialises MPI with MPI_THREAD_SERIALIZED (the reducer's communication thread and
  /// the main thread never call MPI at the same time) and sets MPI_ERRORS_RETURN.
  MpiEnvironment(int* argc, char*** argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Rank among the processes of this node (from MPI_COMM_TYPE_SHARED): picks the GPU.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

  /// Ends every rank of the job with `code` (MPI_Abort): for a rank that fails alone.
  [[noreturn]] static void abort(int code);

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm node_comm_ = MPI_COMM_NULL;
};

}  // namespace cg::parallel
