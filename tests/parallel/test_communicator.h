#pragma once
// The communicator the parallel tests run on: MPI's over CPU tensors, or NCCL's on this
// rank's GPU when CYCLEGAN_TEST_DEVICE=cuda (scripts/gpu_check), so that the same tests
// check both backends through parallel::make_communicator.
#include <cstdlib>
#include <memory>
#include <string>

#include "common/accelerator.h"
#include "parallel/backend.h"

namespace cg::parallel::test {

inline bool on_cuda() {
  const char* device = std::getenv("CYCLEGAN_TEST_DEVICE");
  return device != nullptr && std::string(device) == "cuda";
}

inline std::unique_ptr<Communicator> make_test_communicator() {
  if (!on_cuda()) return make_communicator(Backend::kMpi, torch::kCPU);
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  const int index = cuda_index_for_rank(local ? std::atoi(local) : 0, cuda_device_count());
  return make_communicator(Backend::kNccl, torch::Device(torch::kCUDA, index));
}

}  // namespace cg::parallel::test
