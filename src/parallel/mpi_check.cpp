#include "parallel/mpi_check.h"

namespace cg::parallel {

std::string mpi_error_message(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  int rank = -1, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return detail::str_cat("MPI error on rank ", rank, " at ", file, ":", line, ": ", call, ": ",
                         std::string(text, static_cast<size_t>(length)));
}

}  // namespace cg::parallel
