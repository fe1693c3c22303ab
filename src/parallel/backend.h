#pragma once
// Which communicator sums the gradients, as a type: the backend a user asks for, the one a
// run resolves it to, and the one factory that makes it. The only place that knows which
// backends this build has (CYCLEGAN_WITH_CUDA: NCCL).
#include <torch/torch.h>

#include <memory>

#include "parallel/communicator.h"

namespace cg::parallel {

enum class Backend {
  kAuto,  ///< NCCL for CUDA tensors on more than one rank, else MPI
  kMpi,   ///< MPI over MPI_COMM_WORLD: CPU tensors
  kNccl,  ///< NCCL on this rank's GPU, bootstrapped over MPI
};

/// "auto", "mpi" or "nccl": the --backend word.
const char* backend_name(Backend backend);

/// Whether this build can make `backend` (NCCL needs a build with CUDA and NCCL).
bool backend_built(Backend backend);

/// The backend a run on `device` with `world_size` ranks uses. auto: NCCL on a CUDA device
/// with more than one rank; MPI otherwise (one rank never reduces, so no NCCL communicator
/// is set up for it). An explicit choice is kept. Throws ConfigError (naming --backend) for
/// mpi with CUDA tensors on more than one rank, nccl without a CUDA device, and nccl in a
/// build without NCCL.
Backend resolve_backend(Backend asked, const torch::Device& device, int world_size);

/// The communicator of a resolved backend (kMpi or kNccl) over MPI_COMM_WORLD, whose
/// device() is the CPU (MPI) or `device` (NCCL, which must be a CUDA device with an index).
/// MPI must be initialised; NCCL's set-up is collective: every rank calls this together.
std::unique_ptr<Communicator> make_communicator(Backend backend, const torch::Device& device);

/// The GPU a rank uses when the user gave a bare "cuda": the one of its local rank when each
/// rank sees all of the node's GPUs, or the only one it sees (CUDA_VISIBLE_DEVICES set per
/// rank, e.g. by Slurm's --gpu-bind). Throws ConfigError when a rank sees more than one GPU
/// but fewer than its local rank + 1.
int cuda_index_for_rank(int local_rank, int visible_devices);

}  // namespace cg::parallel
