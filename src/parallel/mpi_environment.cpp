#include "parallel/mpi_environment.h"

#include <cstdlib>

#include "parallel/mpi_check.h"

namespace cg::parallel {

MpiEnvironment::MpiEnvironment(int* argc, char*** argv) {
  int provided = 0;
  CG_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  CG_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  CG_REQUIRE(provided >= MPI_THREAD_SERIALIZED, MpiError, "MPI provides thread level ", provided,
             ", cyclegan_dist needs MPI_THREAD_SERIALIZED");
  CG_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  CG_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  CG_MPI_CHECK(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_comm_));
  CG_MPI_CHECK(MPI_Comm_rank(node_comm_, &local_rank_));
  CG_MPI_CHECK(MPI_Comm_size(node_comm_, &local_size_));
}

MpiEnvironment::~MpiEnvironment() {
  if (node_comm_ != MPI_COMM_NULL) MPI_Comm_free(&node_comm_);
  MPI_Finalize();
}

void MpiEnvironment::abort(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace cg::parallel
