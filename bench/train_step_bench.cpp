// Training throughput of one step, our C++ trainer against the Python reference
// (tests/reference/cyclegan_ref.py: the same nets and step on the same torch wheel),
// with the same thread count, run side by side. Images/s counts both domains' images.
//
//   train_step_bench [--threads N] [--steps N] [--quick]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "data/tensor_source.h"
#include "train/trainer.h"

namespace {

struct Case {
  const char* preset;
  int64_t size, batch, steps;
};

cg::model::CycleGanOptions model_of(const std::string& preset) {
  cg::model::CycleGanOptions m;
  if (preset == "paper-256") {
    m.channels_a = 3;
    m.generator = cg::model::GeneratorArch::kResnet;
    m.discriminator = cg::model::DiscriminatorArch::kPatch;
    m.output_activation = cg::model::OutputActivation::kTanh;
  }
  return m;
}

cg::train::TrainerOptions train_of(const std::string& preset, int64_t batch, int64_t steps) {
  cg::train::TrainerOptions t;
  t.run_dir = "/tmp/cyclegan_bench";
  t.batch_size = batch;
  t.steps = steps;
  if (preset == "paper-256") {
    t.optimizer = cg::train::OptimizerKind::kAdam;
    t.lr_g = t.lr_d = 2e-4;
    t.identity_relative = true;
    t.pool_size = 50;
    t.lr_decay_start = 0.5;
  }
  return t;
}

double cpp_images_per_second(const Case& c) {
  auto m = model_of(c.preset);
  auto t = train_of(c.preset, c.batch, c.steps + 1);
  torch::Tensor a = torch::rand({c.batch, m.channels_a, c.size, c.size});
  torch::Tensor b = torch::rand({c.batch, m.channels_b, c.size, c.size});
  cg::data::TensorSource source(a, b, c.batch, 0);
  cg::train::Trainer trainer(t, m, source);
  trainer.step({a, b});  // warm-up: allocator and oneDNN primitive caches
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < c.steps; ++i) trainer.step({a, b});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 2.0 * static_cast<double>(c.batch * c.steps) / seconds;
}

double python_images_per_second(const Case& c, int threads) {
  std::string cmd = std::string(CYCLEGAN_PYTHON) + " " + CYCLEGAN_REFERENCE_SCRIPT +
                    " bench --preset " + c.preset + " --size " + std::to_string(c.size) +
                    " --batch " + std::to_string(c.batch) + " --steps " + std::to_string(c.steps) +
                    " --threads " + std::to_string(threads);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return 0.0;
  double value = 0.0;
  if (std::fscanf(pipe.get(), "%lf", &value) != 1) return 0.0;
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  int64_t steps = 5;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else {
      std::fprintf(stderr, "usage: train_step_bench [--threads N] [--steps N] [--quick]\n");
      return 2;
    }
  }
  torch::set_num_threads(threads);
  std::vector<Case> cases = {{"cifar-colorize", 32, 1, steps * 4},
                             {"cifar-colorize", 32, 8, steps * 2},
                             {"cifar-colorize", 32, 32, steps},
                             {"paper-256", 128, 1, steps}};
  if (!quick) cases.push_back({"paper-256", 256, 1, std::max<int64_t>(2, steps / 2)});
  std::printf("training step throughput, %d thread(s), images/s (A and B images)\n", threads);
  std::printf("%-16s %5s %5s %12s %12s %8s\n", "preset", "size", "batch", "c++", "python", "ratio");
  for (const Case& c : cases) {
    double cpp = cpp_images_per_second(c);
    double py = python_images_per_second(c, threads);
    std::printf("%-16s %5lld %5lld %12.2f %12.2f %7.2fx\n", c.preset, static_cast<long long>(c.size),
                static_cast<long long>(c.batch), cpp, py, py > 0 ? cpp / py : 0.0);
    std::fflush(stdout);
  }
  return 0;
}
