// Data-parallel training throughput on this machine, run under mpirun -np N (one thread
// per rank): global images/s, the share of the step the slowest-waiting rank spent in the
// reducers after backward (skew between ranks included), and the share that was transfer
// not hidden by overlap (exposed communication). bench/scaling.sh runs it at 1 and
// 2 ranks, overlap on and off, and prints the table with speed-ups.
//
//   mpirun -np 2 build/scaling_bench --preset cifar-colorize|paper-256 --size S --batch B
//                                    --steps N [--overlap 0|1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "data/tensor_source.h"
#include "parallel/mpi_communicator.h"
#include "parallel/mpi_environment.h"
#include "train/trainer.h"

int main(int argc, char** argv) {
  cg::parallel::MpiEnvironment mpi(&argc, &argv);
  std::string preset = "cifar-colorize";
  int64_t size = 32, batch = 8, steps = 10;
  bool overlap = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--preset"))
      preset = argv[i + 1];
    else if (!std::strcmp(argv[i], "--size"))
      size = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps"))
      steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--overlap"))
      overlap = std::atoi(argv[i + 1]) != 0;
  }
  torch::set_num_threads(1);
  cg::model::CycleGanOptions m;
  cg::train::TrainerOptions t;
  t.run_dir = "/tmp/cyclegan_scaling_bench";
  t.batch_size = batch;
  t.steps = steps + 1;
  t.replica_check_every = 0;
  if (preset == "paper-256") {
    m.channels_a = 3;
    m.generator = cg::model::GeneratorArch::kResnet;
    m.n_blocks = size >= 256 ? 9 : 6;
    m.discriminator = cg::model::DiscriminatorArch::kPatch;
    m.output_activation = cg::model::OutputActivation::kTanh;
    t.optimizer = cg::train::OptimizerKind::kAdam;
    t.lr_g = t.lr_d = 2e-4;
    t.identity_relative = true;
  }
  const int world = mpi.size();
  torch::Tensor a = torch::rand({batch * world * 2, m.channels_a, size, size});
  torch::Tensor b = torch::rand({batch * world * 2, m.channels_b, size, size});
  cg::data::TensorSource source(a, b, batch, 0, true, mpi.rank(), world);
  cg::parallel::MpiCommunicator comm;
  cg::parallel::ReducerOptions reducer;
  reducer.overlap = overlap;
  cg::train::Trainer trainer(t, m, source, {}, &comm, reducer);
  trainer.step(source.next());  // warm-up
  comm.barrier();
  const double wait_before = trainer.comm_wait_seconds();
  auto start = std::chrono::steady_clock::now();
  std::vector<double> step_waits;
  for (int64_t i = 0; i < steps; ++i) {
    const double before = trainer.comm_wait_seconds();
    trainer.step(source.next());
    step_waits.push_back(trainer.comm_wait_seconds() - before);
  }
  comm.barrier();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double wait = trainer.comm_wait_seconds() - wait_before;
  // Waiting in the reducers has two parts: for ranks that are still computing (skew,
  // from uneven step times) and for the transfer itself. At each step the rank that
  // reached the reduction last waited for the transfer alone: the sum of those per-step
  // minima is the communication that overlap did not hide.
  std::vector<int64_t> waits = comm.all_gather(static_cast<int64_t>(wait * 1e9));
  double worst_wait = 0;
  for (int64_t w : waits) worst_wait = std::max(worst_wait, static_cast<double>(w) / 1e9);
  double exposed = 0;
  for (double w : step_waits) {
    std::vector<int64_t> all = comm.all_gather(static_cast<int64_t>(w * 1e9));
    exposed += static_cast<double>(*std::min_element(all.begin(), all.end())) / 1e9;
  }
  if (mpi.rank() == 0) {
    std::printf("%s %lld %lld %d %d %.3f %.4f %.4f\n", preset.c_str(), static_cast<long long>(size),
                static_cast<long long>(batch), world, overlap ? 1 : 0,
                2.0 * static_cast<double>(batch * world * steps) / seconds, worst_wait / seconds,
                exposed / seconds);
  }
  return 0;
}
