// All-reduce on the MPI backend, run under mpirun (nccl-tests style):
//   1. raw MPI_Allreduce (sum, float) from 4 KiB to 256 MiB: time, algbw, busbw
//      (busbw = algbw * 2 (n - 1) / n);
//   2. the GradientReducer's bucketed reduction of a real gradient set (the paper
//      preset's G+F, D_A, D_B) against one raw MPI_Allreduce of the same total size.
//
//   mpirun -np 2 build/allreduce_bench [--iters N] [--max-mib M] [--bucket-mb B]
#include <chrono>
#include <cstdio>
#include <cstring>

#include "model/cycle_gan.h"
#include "parallel/gradient_reducer.h"
#include "parallel/mpi_communicator.h"
#include "parallel/mpi_environment.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double raw_allreduce_seconds(torch::Tensor& buffer, int iters) {
  MPI_Barrier(MPI_COMM_WORLD);
  auto start = Clock::now();
  for (int i = 0; i < iters; ++i) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data_ptr(), static_cast<int>(buffer.numel()), MPI_FLOAT,
                  MPI_SUM, MPI_COMM_WORLD);
  }
  double local = seconds_since(start) / iters, slowest = 0;
  MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

}  // namespace

int main(int argc, char** argv) {
  cg::parallel::MpiEnvironment mpi(&argc, &argv);
  int iters = 10;
  int64_t max_mib = 256;
  double bucket_mb = 25;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--max-mib") && i + 1 < argc)
      max_mib = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--bucket-mb") && i + 1 < argc)
      bucket_mb = std::atof(argv[++i]);
  }
  torch::set_num_threads(1);
  const int n = mpi.size();
  const double bus_factor = n > 1 ? 2.0 * (n - 1) / n : 0.0;
  const bool root = mpi.rank() == 0;
  if (root) {
    std::printf("MPI_Allreduce sum float32, %d ranks, %d iterations\n", n, iters);
    std::printf("%12s %12s %12s %12s\n", "bytes", "time_us", "algbw_GB/s", "busbw_GB/s");
  }
  for (int64_t bytes = 4 << 10; bytes <= (max_mib << 20); bytes *= 4) {
    torch::Tensor buffer = torch::ones({bytes / 4});
    int reps = bytes >= (64 << 20) ? std::max(2, iters / 4) : iters;
    double t = raw_allreduce_seconds(buffer, reps);
    double algbw = static_cast<double>(bytes) / t / 1e9;
    if (root)
      std::printf("%12lld %12.1f %12.3f %12.3f\n", static_cast<long long>(bytes), t * 1e6, algbw,
                  algbw * bus_factor);
  }

  // The real gradient set of the paper preset, through the reducer (overlap off: the
  // reduction alone: prepare() zeroes the buckets the gradients live in, finish() reduces
  // and averages them) and as one raw call of the same size.
  cg::model::CycleGanOptions options;
  options.channels_a = 3;
  options.generator = cg::model::GeneratorArch::kResnet;
  options.discriminator = cg::model::DiscriminatorArch::kPatch;
  cg::model::CycleGan net(options);
  cg::parallel::MpiCommunicator comm;
  cg::parallel::ReducerOptions reducer_options;
  reducer_options.overlap = false;
  reducer_options.bucket_bytes = static_cast<int64_t>(bucket_mb * (1 << 20));
  std::vector<std::unique_ptr<cg::parallel::GradientReducer>> reducers;
  int64_t total_bytes = 0;
  for (auto params : {net->generator_parameters(), net->d_a_parameters(), net->d_b_parameters()}) {
    reducers.push_back(
        std::make_unique<cg::parallel::GradientReducer>(params, comm, reducer_options));
    total_bytes += reducers.back()->total_bytes();
  }
  comm.barrier();
  auto start = Clock::now();
  for (int i = 0; i < iters; ++i) {
    for (auto& r : reducers) {
      r->prepare();
      r->finish();
    }
  }
  double local = seconds_since(start) / iters, reducer_time = 0;
  comm.barrier();
  std::vector<int64_t> times = comm.all_gather(static_cast<int64_t>(local * 1e9));
  for (int64_t t : times) reducer_time = std::max(reducer_time, static_cast<double>(t) / 1e9);
  torch::Tensor flat = torch::ones({total_bytes / 4});
  double raw_time = raw_allreduce_seconds(flat, iters);
  if (root) {
    size_t buckets = 0;
    for (auto& r : reducers) buckets += static_cast<size_t>(r->bucket_count());
    std::printf("\ngradient set of the paper preset: %.1f MiB in %zu buckets of <= %.0f MiB\n",
                static_cast<double>(total_bytes) / (1 << 20), buckets, bucket_mb);
    std::printf("%-28s %10.2f ms  busbw %7.3f GB/s\n", "reducer (bucketed)", reducer_time * 1e3,
                static_cast<double>(total_bytes) / reducer_time / 1e9 * bus_factor);
    std::printf("%-28s %10.2f ms  busbw %7.3f GB/s\n", "one raw MPI_Allreduce", raw_time * 1e3,
                static_cast<double>(total_bytes) / raw_time / 1e9 * bus_factor);
    std::printf("reducer / raw throughput: %.1f%% (target >= 80%%)\n",
                100.0 * raw_time / reducer_time);
  }
  return 0;
}
