// main() of the MPI tests: MPI first, then GoogleTest; every rank runs every test and
// the job fails if any rank fails. Only rank 0 prints GoogleTest's report.
#include <gtest/gtest.h>

#include "common/log.h"
#include "parallel/mpi_environment.h"

int main(int argc, char** argv) {
  cg::parallel::MpiEnvironment mpi(&argc, &argv);
  cg::log::configure(mpi.rank(), cg::log::Level::kWarn);
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed;
}
