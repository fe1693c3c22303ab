#pragma once
// CG_MPI_CHECK(call): throws cg::parallel::MpiError naming the rank, file:line, the call and
// MPI's own error text when an MPI call fails (MPI_ERRORS_RETURN is set on every
// communicator we use, so failures come back as codes instead of aborting silently).
#include <mpi.h>

#include <string>

#include "common/error.h"

namespace cg::parallel {

class MpiError : public Error {
 public:
  using Error::Error;
};

/// Message for MPI error `code` from `call` at file:line.
std::string mpi_error_message(int code, const char* call, const char* file, int line);

}  // namespace cg::parallel

#define CG_MPI_CHECK(call)                                                           \
  do {                                                                               \
    int cg_mpi_rc_ = (call);                                                         \
    if (cg_mpi_rc_ != MPI_SUCCESS)                                                   \
      throw ::cg::parallel::MpiError(                                                \
          ::cg::parallel::mpi_error_message(cg_mpi_rc_, #call, __FILE__, __LINE__)); \
  } while (0)
