// One case of bench/translate_memory: the paper preset's G (ResNet-9, weights from
// model::init_weights) over one uniform-noise image, whole-image pass or tiled_forward, in
// a process of its own so that its peak resident size is the case's alone.
//
//   translate_memory_worker --height H --width W [--tile T (0: whole pass)] [--threads N]
//                           [--temp-dir DIR] [--device cpu|cuda]
//
// Prints one line: "result <peak bytes> <bytes before the pass> <seconds> <resettable 0|1>",
// the peak being train/peak_memory.h's (CPU: VmHWM, reset after set-up; CUDA: the caching
// allocator's peak of tensor bytes).
//
// bench/translate_bench's C++ contender instead (--serve): G of a checkpoint, inference
// mode, a batch of uniform noise in [-1, 1] from torch::manual_seed(0) (the same values as
// torch.rand in Python), no peak measured:
//
//   translate_memory_worker --serve --checkpoint CKPT --height H --width W [--batch N]
//                           [--threads N] [--output FILE]
//
// prints "ready", then answers each stdin line "run K" with "done <seconds of pass 1> ..."
// (K passes) until "quit"; --output gets the first pass's output as raw float32 (NCHW).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "cli/command_line.h"
#include "cli/presets.h"
#include "infer/saved_model.h"
#include "infer/tiled_generator.h"
#include "model/cycle_gan.h"
#include "model/init.h"
#include "train/peak_memory.h"

int main(int argc, char** argv) {
  int64_t height = 4096, width = 4096, tile = 0, batch = 1;
  int threads = 2;
  bool serve = false;
  std::string temp_dir, device_name = "cpu", checkpoint, output;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> std::string {
      TORCH_CHECK(i + 1 < argc, argv[i], " needs a value");
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--height")) {
      height = std::stoll(value());
    } else if (!std::strcmp(argv[i], "--width")) {
      width = std::stoll(value());
    } else if (!std::strcmp(argv[i], "--tile")) {
      tile = std::stoll(value());
    } else if (!std::strcmp(argv[i], "--threads")) {
      threads = std::stoi(value());
    } else if (!std::strcmp(argv[i], "--temp-dir")) {
      temp_dir = value();
    } else if (!std::strcmp(argv[i], "--device")) {
      device_name = value();
    } else if (!std::strcmp(argv[i], "--serve")) {
      serve = true;
    } else if (!std::strcmp(argv[i], "--checkpoint")) {
      checkpoint = value();
    } else if (!std::strcmp(argv[i], "--batch")) {
      batch = std::stoll(value());
    } else if (!std::strcmp(argv[i], "--output")) {
      output = value();
    } else {
      std::fprintf(stderr, "translate_memory_worker: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  torch::set_num_threads(threads);
  const torch::Device device(device_name);
  if (serve) {
    TORCH_CHECK(!checkpoint.empty(), "--serve needs --checkpoint");
    auto saved = cg::infer::load_saved_model(checkpoint, cg::cli::model_description, device);
    torch::InferenceMode inference;
    torch::manual_seed(0);
    const torch::Tensor x = (torch::rand({batch, 3, height, width}) * 2 - 1).to(device);
    std::printf("ready\n");
    std::fflush(stdout);
    std::string line;
    bool first = true;
    while (std::getline(std::cin, line) && line.rfind("run ", 0) == 0) {
      std::string reply = "done";
      for (int64_t k = std::stoll(line.substr(4)); k > 0; --k) {
        const auto start = std::chrono::steady_clock::now();
        torch::Tensor y = saved.net->g(x).cpu().contiguous();
        reply +=
            " " +
            std::to_string(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (first && !output.empty()) {
          std::ofstream(output, std::ios::binary)
              .write(static_cast<const char*>(y.data_ptr()), y.numel() * sizeof(float));
        }
        first = false;
      }
      std::printf("%s\n", reply.c_str());
      std::fflush(stdout);
    }
    return 0;
  }
  torch::manual_seed(0);
  cg::model::CycleGan net(cg::cli::preset("paper-256").model);
  cg::model::init_weights(*net);
  net->to(device);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = (torch::rand({1, 3, height, width}) * 2 - 1).to(device);
  cg::train::PeakMemory peak(device);
  peak.reset();
  const int64_t before = peak.current_bytes();
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor y;
  if (tile > 0) {
    cg::infer::TiledOptions options;
    options.tile = tile;
    options.temp_dir = temp_dir;
    y = cg::infer::tiled_forward(*cg::infer::generator_of(net, true), x, options);
  } else {
    y = net->g(x);
  }
  const double checksum = y.sum().item<double>();  // waits for a device
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("result %lld %lld %.3f %d %.6g\n", static_cast<long long>(peak.peak_bytes()),
              static_cast<long long>(before), seconds, peak.resettable() ? 1 : 0, checksum);
  return 0;
}
