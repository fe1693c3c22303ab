// Data loader throughput: images/s of the ShardSource (read, CRC check, crop, flip,
// float conversion, prefetch queue) with 1 and N reader threads, side by side with a
// plain sequential read of the same shard bytes and with the training step's own
// consumption on this machine, at 32x32 (seed preset) and 256x256 (paper preset, stored
// at 286). Images/s counts both domains. The target: the loader at >= 10x the step.
//
//   loader_bench [--threads N] [--quick]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/rng.h"
#include "data/dataset_writer.h"
#include "data/shard_source.h"
#include "data/tensor_source.h"
#include "train/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Case {
  const char* name;
  int64_t stored, crop, images, batch, channels_a;
  bool paper;
};

// A data set of random pixels (content does not matter to the loader's speed).
std::string make_dataset(const Case& c) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("cyclegan_loader_bench_" + std::string(c.name)))
          .string();
  std::filesystem::remove_all(dir);
  cg::data::DatasetWriter writer(dir, "loader bench");
  cg::SplitMix64 rng(1);
  for (const auto& [domain, channels] :
       {std::pair{"A", c.channels_a}, std::pair{"B", int64_t{3}}}) {
    std::vector<uint8_t> image(size_t(c.stored * c.stored * channels));
    writer.begin(domain, "train", c.images, c.stored, c.stored, channels);
    for (int64_t i = 0; i < c.images; ++i) {
      for (auto& p : image) p = static_cast<uint8_t>(rng.next_u64());
      writer.append(domain, "train", image.data());
    }
  }
  writer.finish(false);
  return dir;
}

// Reads every shard file start to end in 4 MiB blocks (after dropping nothing: the files
// were just written, so like the loader this reads from the page cache).
double sequential_images_per_second(const std::string& dir, int64_t images) {
  const auto start = Clock::now();
  std::vector<char> block(4 << 20);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".h5") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    while (in.read(block.data(), std::streamsize(block.size())) || in.gcount() > 0) {
    }
  }
  return 2.0 * double(images) / since(start);
}

double loader_images_per_second(const std::string& dir, const Case& c, int threads,
                                int64_t batches) {
  cg::data::LoaderOptions o;
  o.batch_size = c.batch;
  o.crop_size = c.crop;
  o.flip = c.paper;
  o.channels_a = c.channels_a;
  o.channels_b = 3;
  o.threads = threads;
  o.prefetch = 2 * threads;
  cg::data::ShardSource source(dir, o);
  source.next();  // first batch: opening, page cache
  const auto start = Clock::now();
  for (int64_t i = 0; i < batches; ++i) source.next();
  return 2.0 * double(batches * c.batch) / since(start);
}

double step_images_per_second(const Case& c, int64_t steps) {
  cg::model::CycleGanOptions m;
  cg::train::TrainerOptions t;
  t.run_dir = "/tmp/cyclegan_loader_bench_run";
  t.batch_size = c.batch;
  t.steps = steps + 1;
  m.channels_a = c.channels_a;
  if (c.paper) {
    m.generator = cg::model::GeneratorArch::kResnet;
    m.discriminator = cg::model::DiscriminatorArch::kPatch;
    m.output_activation = cg::model::OutputActivation::kTanh;
    t.optimizer = cg::train::OptimizerKind::kAdam;
    t.pool_size = 50;
  }
  torch::Tensor a = torch::rand({c.batch, m.channels_a, c.crop, c.crop});
  torch::Tensor b = torch::rand({c.batch, m.channels_b, c.crop, c.crop});
  cg::data::TensorSource source(a, b, c.batch, 0);
  cg::train::Trainer trainer(t, m, source);
  trainer.step({a, b});
  const auto start = Clock::now();
  for (int64_t i = 0; i < steps; ++i) trainer.step({a, b});
  return 2.0 * double(c.batch * steps) / since(start);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else {
      std::fprintf(stderr, "usage: loader_bench [--threads N] [--quick]\n");
      return 2;
    }
  }
  torch::set_num_threads(threads);
  const Case cases[] = {{"32x32", 32, 32, quick ? 2048 : 8192, 32, 1, false},
                        {"256x256", 286, 256, quick ? 64 : 256, 1, 3, true}};
  std::printf(
      "images/s, both domains; loader threads 1 and %d; training step with %d LibTorch threads\n",
      threads, threads);
  std::printf("%-8s %12s %12s %12s %12s %10s %10s\n", "size", "sequential", "loader x1",
              "loader xN", "train step", "x1/step", "xN/step");
  for (const Case& c : cases) {
    const std::string dir = make_dataset(c);
    const int64_t batches = c.images / c.batch - 2;
    const double sequential = sequential_images_per_second(dir, c.images);
    const double one = loader_images_per_second(dir, c, 1, batches);
    const double many = loader_images_per_second(dir, c, threads, batches);
    const double step = step_images_per_second(c, c.paper ? (quick ? 2 : 4) : (quick ? 5 : 20));
    std::printf("%-8s %12.0f %12.0f %12.0f %12.1f %9.0fx %9.0fx\n", c.name, sequential, one, many,
                step, one / step, many / step);
    std::filesystem::remove_all(dir);
  }
  return 0;
}
