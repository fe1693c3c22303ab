#include "parallel/backend.h"

#include "common/error.h"
#include "parallel/mpi_communicator.h"
#ifdef CYCLEGAN_WITH_CUDA
#include "parallel/nccl_communicator.h"
#endif

namespace cg::parallel {

const char* backend_name(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kMpi:
      return "mpi";
    case Backend::kNccl:
      return "nccl";
  }
  return "?";
}

bool backend_built(Backend backend) {
#ifdef CYCLEGAN_WITH_CUDA
  return true;
#else
  return backend != Backend::kNccl;
#endif
}

Backend resolve_backend(Backend asked, const torch::Device& device, int world_size) {
  const bool on_cuda = device.is_cuda();
  Backend backend = asked;
  if (asked == Backend::kAuto) backend = on_cuda && world_size > 1 ? Backend::kNccl : Backend::kMpi;
  CG_REQUIRE(backend != Backend::kMpi || !on_cuda || world_size == 1, ConfigError,
             "--backend mpi reduces CPU tensors: use --backend nccl with --device cuda");
  CG_REQUIRE(backend != Backend::kNccl || on_cuda, ConfigError,
             "--backend nccl needs --device cuda, got '", device.str(), "'");
  CG_REQUIRE(backend_built(backend), ConfigError, "--backend nccl: this build has no CUDA/NCCL");
  return backend;
}

std::unique_ptr<Communicator> make_communicator(Backend backend, const torch::Device& device) {
  CG_REQUIRE(backend == Backend::kMpi || backend == Backend::kNccl, Error,
             "make_communicator: resolve --backend ", backend_name(backend), " first");
  if (backend == Backend::kMpi) return std::make_unique<MpiCommunicator>();
#ifdef CYCLEGAN_WITH_CUDA
  CG_REQUIRE(device.is_cuda() && device.has_index(), Error,
             "make_communicator: NCCL needs a CUDA device with an index, got ", device.str());
  return std::make_unique<NcclCommunicator>(std::make_unique<MpiCommunicator>(), device.index());
#else
  (void)device;
  throw ConfigError("--backend nccl: this build has no CUDA/NCCL");
#endif
}

int cuda_index_for_rank(int local_rank, int visible_devices) {
  CG_REQUIRE(visible_devices > 0, ConfigError,
             "--device cuda: no CUDA device is visible to local rank ", local_rank);
  if (visible_devices == 1) return 0;
  CG_REQUIRE(local_rank < visible_devices, ConfigError, "--device cuda: local rank ", local_rank,
             " sees ", visible_devices,
             " GPUs: run at most one rank per GPU, or give each rank one GPU "
             "(CUDA_VISIBLE_DEVICES, Slurm's --gpus-per-task=1)");
  return local_rank;
}

}  // namespace cg::parallel
