#pragma once
// Small trainers for tests: the seed preset at 32x32 and a scaled-down paper preset.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data/synthetic_scenes.h"
#include "data/tensor_source.h"
#include "image/tensor_color.h"
#include "train/trainer.h"

namespace cg::train::testing {

struct Setup {
  model::CycleGanOptions model;
  TrainerOptions train;
};

/// The seed preset (U-Net, seed discriminator, RMSprop, gray -> color).
inline Setup seed_setup(const std::string& run_dir) {
  Setup s;
  s.train.run_dir = run_dir;
  s.train.batch_size = 4;
  s.train.sample_every = 0;
  s.train.checkpoint_every = 0;
  s.train.log_every = 1000;
  return s;
}

/// The paper preset scaled down: ResNet (ngf 8, 2 blocks), PatchGAN (ndf 8), Adam, identity
/// relative, a pool of 3, linear decay over the second half; colour -> colour.
inline Setup paper_setup(const std::string& run_dir) {
  Setup s = seed_setup(run_dir);
  s.model.channels_a = 3;
  s.model.generator = model::GeneratorArch::kResnet;
  s.model.ngf = 8;
  s.model.n_blocks = 2;
  s.model.discriminator = model::DiscriminatorArch::kPatch;
  s.model.ndf = 8;
  s.model.output_activation = model::OutputActivation::kTanh;
  s.train.batch_size = 2;
  s.train.optimizer = OptimizerKind::kAdam;
  s.train.lr_g = s.train.lr_d = 2e-4;
  s.train.identity_relative = true;
  s.train.pool_size = 3;
  s.train.lr_decay_start = 0.5;
  return s;
}

/// Synthetic pictures in the setup's channels and range, `n` per domain; rank `rank` of
/// `world` reads its slice of each global batch.
inline std::unique_ptr<data::TensorSource> make_source(const Setup& s, int64_t n, uint64_t seed = 1,
                                                       int rank = 0, int world = 1) {
  torch::Tensor pictures = data::make_scenes(2 * n, 32, seed);
  auto range = model::image_range(s.model.output_activation);
  auto domain = [&](torch::Tensor rgb, int64_t channels) {
    return image::from_unit_range(channels == 1 ? image::to_gray(rgb) : rgb, range.lo, range.hi);
  };
  return std::make_unique<data::TensorSource>(domain(pictures.narrow(0, 0, n), s.model.channels_a),
                                              domain(pictures.narrow(0, n, n), s.model.channels_b),
                                              s.train.batch_size, seed, /*shuffle=*/true, rank,
                                              world);
}

/// ||got - want|| / ||want|| in float64 (the absolute norm when `want` is zero).
inline double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  double scale = want.to(torch::kDouble).norm().item<double>();
  double diff = (got.to(torch::kDouble) - want.to(torch::kDouble)).norm().item<double>();
  return scale > 0 ? diff / scale : diff;
}

/// Copies of `params`' values, for unchanged().
inline std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> copies;
  for (const auto& p : params) copies.push_back(p.detach().clone());
  return copies;
}

/// Whether every one of `params` still equals its copy in `before` (snapshot()), bit for bit.
inline bool unchanged(const std::vector<torch::Tensor>& params,
                      const std::vector<torch::Tensor>& before) {
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].equal(before[i])) return false;
  }
  return true;
}

/// Inverts the byte at `offset` of the file at `path`.
inline void flip_byte(const std::string& path, std::streamoff offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = static_cast<char>(f.get());
  f.seekp(offset);
  f.put(static_cast<char>(~c));
}

// Sets an environment variable for one scope (the trainer reads its test hooks when built).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

inline std::string fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("cyclegan_test_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

}  // namespace cg::train::testing
