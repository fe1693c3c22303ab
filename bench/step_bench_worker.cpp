// One contender of bench/step_bench (and the worker of bench/memory_bench), driven over
// stdin/stdout so the driver can interleave it with the others: our CycleGanStep::step (no
// run directory, data source or loop) on a fixed batch of one preset (uniform noise, or with
// --scenes the synthetic pictures cyclegan_dist --data synthetic trains on), or (--sgemm N)
// an NxN float matmul through LibTorch, the machine's reference speed.
//
//   step_bench_worker --preset P --size S --batch B --threads T [--device D] [--scenes]
//                     [--precision fp32|bf16|fp16] [--checkpoint-activations]
//   step_bench_worker --sgemm N --threads T [--device D]
//
// Prints "ready" once set up, then answers each command line on stdin:
//   run SECONDS   repeat the work until at least SECONDS have passed (at least once), print
//                 "done <repetitions> <seconds>"; on CUDA the clock stops after a sync.
//   steps N       do the work exactly N times, print "done <N> <seconds>".
//   reset         start a peak-memory measurement (train/peak_memory.h on --device), print
//                 "reset <bytes now>".
//   peak          print "peak <peak bytes since the last reset> <bytes now> <resettable 0|1>".
//   quit          exit.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>

#include "cli/presets.h"
#include "common/accelerator.h"
#include "data/synthetic_scenes.h"
#include "image/tensor_color.h"
#include "train/cycle_gan_step.h"
#include "train/peak_memory.h"

namespace {

struct Args {
  std::string preset = "cifar-colorize";
  int64_t size = 32, batch = 1, sgemm = 0;
  int threads = 1;
  std::string device = "cpu";
  bool scenes = false;
  cg::train::Precision precision = cg::train::Precision::kFp32;
  bool checkpoint_activations = false;
};

cg::train::Precision parse_precision(const std::string& name) {
  if (name == "fp32") return cg::train::Precision::kFp32;
  if (name == "bf16") return cg::train::Precision::kBf16;
  if (name == "fp16") return cg::train::Precision::kFp16;
  TORCH_CHECK(false, "--precision: fp32, bf16 or fp16, got ", name);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> std::string {
      TORCH_CHECK(i + 1 < argc, argv[i], " needs a value");
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--preset"))
      a.preset = value();
    else if (!std::strcmp(argv[i], "--size"))
      a.size = std::stoll(value());
    else if (!std::strcmp(argv[i], "--batch"))
      a.batch = std::stoll(value());
    else if (!std::strcmp(argv[i], "--sgemm"))
      a.sgemm = std::stoll(value());
    else if (!std::strcmp(argv[i], "--threads"))
      a.threads = std::stoi(value());
    else if (!std::strcmp(argv[i], "--device"))
      a.device = value();
    else if (!std::strcmp(argv[i], "--scenes"))
      a.scenes = true;
    else if (!std::strcmp(argv[i], "--precision"))
      a.precision = parse_precision(value());
    else if (!std::strcmp(argv[i], "--checkpoint-activations"))
      a.checkpoint_activations = true;
    else
      TORCH_CHECK(false, "step_bench_worker: unknown argument ", argv[i]);
  }
  return a;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// Answers the driver's commands with `work` until "quit" or end of input.
int serve(const std::function<void()>& work, const torch::Device& device) {
  cg::train::PeakMemory memory(device);
  std::printf("ready\n");
  std::fflush(stdout);
  std::string command;
  while (std::cin >> command) {
    if (command == "quit") break;
    if (command == "reset") {
      synchronize(device);
      memory.reset();
      std::printf("reset %lld\n", static_cast<long long>(memory.current_bytes()));
      std::fflush(stdout);
      continue;
    }
    if (command == "peak") {
      synchronize(device);
      std::printf("peak %lld %lld %d\n", static_cast<long long>(memory.peak_bytes()),
                  static_cast<long long>(memory.current_bytes()), memory.resettable() ? 1 : 0);
      std::fflush(stdout);
      continue;
    }
    // run SECONDS: at least once, until SECONDS passed; steps N: exactly N times.
    double seconds = 0;
    int64_t count = 0;
    TORCH_CHECK((command == "run" && (std::cin >> seconds)) ||
                    (command == "steps" && (std::cin >> count) && count > 0),
                "unknown command ", command);
    using Clock = std::chrono::steady_clock;
    synchronize(device);
    const auto start = Clock::now();
    int64_t done = 0;
    double elapsed = 0;
    do {
      work();
      ++done;
      // On a GPU the step is asynchronous: sync before reading the clock.
      synchronize(device);
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (count > 0 ? done < count : elapsed < seconds);
    std::printf("done %lld %.6f\n", static_cast<long long>(done), elapsed);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    torch::set_num_threads(args.threads);
    const torch::Device device(args.device);
    if (device.is_cuda() && cg::cuda_device_count() == 0) {
      std::fprintf(stderr, "step_bench_worker: --device %s: no CUDA device is visible (%s)\n",
                   args.device.c_str(), cg::accelerator_summary().c_str());
      return 2;
    }
    if (args.sgemm > 0) {
      torch::Tensor x = torch::rand({args.sgemm, args.sgemm}, torch::device(device));
      torch::Tensor y = torch::rand({args.sgemm, args.sgemm}, torch::device(device));
      torch::Tensor out = torch::empty({args.sgemm, args.sgemm}, torch::device(device));
      return serve([&] { torch::mm_out(out, x, y); }, device);
    }
    cg::cli::Config config = cg::cli::preset(args.preset);
    config.train.device = args.device;
    config.train.batch_size = args.batch;
    config.train.precision = args.precision;
    config.model.checkpoint_activations = args.checkpoint_activations;
    const auto range = cg::model::image_range(config.model.output_activation);
    torch::manual_seed(0);
    auto images = [&](int64_t channels) {
      return torch::rand({args.batch, channels, args.size, args.size}) * (range.hi - range.lo) +
             range.lo;
    };
    torch::Tensor a = images(config.model.channels_a), b = images(config.model.channels_b);
    if (args.scenes) {
      // As cyclegan_dist's synthetic source makes its domains (src/apps/cyclegan_dist.cpp).
      torch::Tensor pictures = cg::data::make_scenes(2 * args.batch, args.size, 0);
      auto domain = [&](torch::Tensor rgb, int64_t channels) {
        torch::Tensor x = channels == 1 ? cg::image::to_gray(rgb) : rgb;
        return cg::image::from_unit_range(x, range.lo, range.hi).contiguous();
      };
      a = domain(pictures.narrow(0, 0, args.batch), config.model.channels_a);
      b = domain(pictures.narrow(0, args.batch, args.batch), config.model.channels_b);
    }
    // At the preset's learning rates throughout: no schedule.
    cg::train::CycleGanStep step(config.train, config.model);
    // On the device already, as the Python contenders' batches are.
    const cg::data::UnpairedBatch batch{a.to(device), b.to(device)};
    return serve([&] { step.step(batch); }, device);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "step_bench_worker: %s\n", e.what());
    return 1;
  }
}
