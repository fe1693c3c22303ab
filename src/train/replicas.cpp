#include "train/replicas.h"

#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_util.h"
#include "common/stop_request.h"

namespace cg::train {

void synchronize_replicas(parallel::Communicator& comm, const TrainingState& state) {
  raise_test_signal("first-collective");
  const int rank = comm.rank();
  const std::string signature = parameter_signature(state.model).dump();
  std::vector<int64_t> crcs = comm.all_gather(static_cast<int64_t>(crc32_of(signature)));
  for (int r = 1; r < comm.size(); ++r) {
    CG_REQUIRE(crcs[r] == crcs[0], ConfigError, "rank ", r, " builds a model with other parameter ",
               "names or shapes than rank 0: every rank must get the same flags");
  }
  // The archive's bytes: their length first, so the other ranks can size their buffer.
  std::string bytes;
  if (rank == 0) {
    torch::serialize::OutputArchive archive;
    save_training_state(state, archive);
    archive.save_to([&](const void* data, size_t size) {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
  }
  torch::Tensor length =
      torch::tensor(static_cast<int64_t>(bytes.size()), torch::kLong).reshape({1}).to(state.device);
  comm.broadcast(length, 0);
  torch::Tensor buffer = torch::empty({length.item<int64_t>()}, torch::kByte);
  if (rank == 0) std::memcpy(buffer.data_ptr(), bytes.data(), bytes.size());
  buffer = buffer.to(state.device);
  comm.broadcast(buffer, 0);
  if (rank != 0) {
    buffer = buffer.to(torch::kCPU);
    torch::serialize::InputArchive archive;
    archive.load_from(static_cast<const char*>(buffer.data_ptr()),
                      static_cast<size_t>(buffer.numel()));
    load_training_state(state, archive);
  }
}

void check_replicas(parallel::Communicator& comm, const model::CycleGan& model, int64_t step) {
  if (comm.size() <= 1) return;
  std::string bytes;
  for (const auto& p : model->parameters()) {
    torch::Tensor cpu = p.detach().to(torch::kCPU).contiguous();
    bytes.append(static_cast<const char*>(cpu.data_ptr()), cpu.numel() * cpu.element_size());
  }
  std::vector<int64_t> crcs = comm.all_gather(static_cast<int64_t>(crc32_of(bytes)));
  std::string differing;
  for (int r = 1; r < comm.size(); ++r) {
    if (crcs[r] != crcs[0]) differing += " " + std::to_string(r);
  }
  CG_REQUIRE(differing.empty(), Error, "replica check at step ", step,
             ": the parameters of rank(s)", differing, " differ from rank 0's");
}

}  // namespace cg::train
