// AutocastGuard scopes autocast like torch.autocast, and both presets' generators and
// discriminators under it match PyTorch's forwards under torch.autocast("cpu", dtype) of
// the same weights and inputs (tests/reference/autocast_ref.py, the AutocastReference
// CTest fixture).
#include "model/autocast.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cycle_steps_replay.h"
#include "model/cycle_gan.h"
#include "reference_file.h"

namespace cg::model {
namespace {

TEST(AutocastGuard, EnablesInsideAndRestoresNestedSettings) {
  ASSERT_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
  const c10::ScalarType outer_dtype = at::autocast::get_autocast_dtype(c10::kCPU);
  torch::Tensor x = torch::rand({1, 2, 6, 6});
  torch::Tensor w = torch::rand({3, 2, 3, 3});
  {
    AutocastGuard bf16(c10::kCPU, c10::kBFloat16);
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard fp16(c10::kCPU, c10::kHalf);
      EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kHalf);
      AutocastGuard off(c10::kCPU, AutocastState{false, c10::kHalf, true});
      EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat);
    }
    EXPECT_TRUE(at::autocast::is_autocast_enabled(c10::kCPU));
    EXPECT_EQ(at::autocast::get_autocast_dtype(c10::kCPU), c10::kBFloat16);
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
  EXPECT_EQ(at::autocast::get_autocast_dtype(c10::kCPU), outer_dtype);
  EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat);
  // The outermost guard's end cleared the cache of parameter casts: a nesting count of 0.
  EXPECT_EQ(at::autocast::increment_nesting(), 1);
  at::autocast::decrement_nesting();
}

TEST(AutocastGuard, RejectsFloat32AsTheLowPrecisionType) {
  EXPECT_THROW(AutocastGuard(c10::kCPU, c10::kFloat), c10::Error);
}

// Tolerance, from the rounding of the low-precision type (bf16 keeps 8 significant bits,
// one ulp is 2^-8 relative at most; fp16 keeps 11, 2^-11). C++ and Python run the same
// kernels of the same wheel with the same casts, but their fp32 parts may round
// differently (the fp32 training reference allows 1e-5 relative), and such a difference
// can flip an activation's rounding to the low type: one ulp of that activation, carried
// to the output with gains near 1 by the normalised layers. We allow 4 ulps of the
// output's largest magnitude: for the generators (|y| <= 1) 0.0156 in bf16 and 0.00195 in
// fp16, below the low-precision forward's own distance from fp32 for the paper generator
// (0.066 bf16, 0.011 fp16), so an fp32 forward would fail; and the output dtype shows
// that autocast ran. On torch 2.11 the outputs are in fact bitwise equal (printed).
double tolerance(c10::ScalarType dtype, const torch::Tensor& reference) {
  const double ulp = dtype == c10::kBFloat16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  return 4 * ulp * reference.abs().max().item<double>();
}

void compare_preset(const std::string& preset, c10::ScalarType dtype) {
  static const auto ref = eval::testing::load_reference("CYCLEGAN_AUTOCAST_REFERENCE");
  auto at = [&](const std::string& key) {
    auto found = ref.find(preset + "/" + key);
    if (found == ref.end()) throw std::runtime_error("reference file has no " + preset + "/" + key);
    return found->second;
  };
  torch::set_num_threads(1);
  CycleGanOptions options;  // the seed preset's networks
  if (preset == "paper-256") {
    options.channels_a = 3;
    options.generator = GeneratorArch::kResnet;
    options.discriminator = DiscriminatorArch::kPatch;
    options.output_activation = OutputActivation::kTanh;
    options.n_blocks = at("meta")[2].item<int64_t>();
  }
  CycleGan net(options);
  {
    torch::NoGradGuard no_grad;
    int64_t loaded = 0;
    for (auto& item : net->named_parameters()) {
      item.value().copy_(at("init/" + item.key()));
      ++loaded;
    }
    ASSERT_GT(loaded, 20);
  }
  const std::string precision = dtype == c10::kBFloat16 ? "bf16" : "fp16";
  const torch::Tensor a = at("a"), b = at("b");
  torch::NoGradGuard no_grad;
  for (const std::string name : {"G", "F", "D_A", "D_B"}) {
    torch::Tensor y;
    {
      AutocastGuard guard(c10::kCPU, dtype);
      y = name == "G"     ? net->g(a)
          : name == "F"   ? net->f(b)
          : name == "D_A" ? net->d_a(a)
                          : net->d_b(b);
    }
    EXPECT_EQ(y.scalar_type() != torch::kFloat,
              at(precision + "/" + name + "_dtype_is_low").item<bool>())
        << preset << " " << name << " output dtype " << y.scalar_type();
    const torch::Tensor want = at(precision + "/" + name);
    const double diff = (y.to(torch::kFloat) - want).abs().max().item<double>();
    const double from_fp32 = (want - at("fp32/" + name)).abs().max().item<double>();
    const double tol = tolerance(dtype, want);
    std::printf("%s %s %s: |C++ - PyTorch| <= %.3g (tolerance %.3g); PyTorch %s vs fp32: %.3g\n",
                preset.c_str(), precision.c_str(), name.c_str(), diff, tol, precision.c_str(),
                from_fp32);
    EXPECT_LE(diff, tol) << preset << " " << precision << " " << name;
  }
}

TEST(Autocast, SeedPresetBf16MatchesPyTorch) { compare_preset("cifar-colorize", c10::kBFloat16); }
TEST(Autocast, SeedPresetFp16MatchesPyTorch) { compare_preset("cifar-colorize", c10::kHalf); }
TEST(Autocast, PaperPresetBf16MatchesPyTorch) { compare_preset("paper-256", c10::kBFloat16); }
TEST(Autocast, PaperPresetFp16MatchesPyTorch) { compare_preset("paper-256", c10::kHalf); }

// bf16 training steps (autocast_ref.cycle_steps): losses and weights after the steps
// match PyTorch's bit for bit, with and without activation checkpointing. Exact, not
// within a tolerance: the same wheel runs the same casts and kernels in the same order
// (the forwards above are bitwise equal too), so any difference would show that C++ and
// Python no longer do the same thing, which is what this test is for.
void compare_bf16_steps(const std::string& preset, bool checkpointed) {
  static const auto ref = eval::testing::load_reference("CYCLEGAN_AUTOCAST_REFERENCE");
  torch::set_num_threads(1);
  const std::string prefix = preset + "/bf16_steps";
  auto result =
      testing::replay_cycle_steps(ref, preset, prefix, c10::kBFloat16, checkpointed,
                                  [](const torch::Tensor& loss, const std::vector<torch::Tensor>&) {
                                    loss.backward();
                                    return true;
                                  });
  for (size_t k = 0; k < result.losses.size(); ++k) {
    const double want = ref.at(prefix + "/loss" + std::to_string(k)).item<double>();
    std::printf("%s bf16 step %zu loss: C++ %.9g, PyTorch %.9g\n", preset.c_str(), k,
                result.losses[k], want);
    EXPECT_EQ(result.losses[k], want) << preset << " step " << k;
  }
  double worst = 0;
  for (const auto& item : result.net->named_parameters()) {
    const torch::Tensor& want = ref.at(prefix + "/final/" + item.key());
    worst = std::max(worst, (item.value() - want).abs().max().item<double>());
  }
  std::printf("%s bf16 steps%s: largest weight difference to PyTorch %.3g\n", preset.c_str(),
              checkpointed ? " (checkpointed)" : "", worst);
  EXPECT_EQ(worst, 0.0);
}

TEST(Autocast, SeedPresetBf16StepsMatchPyTorch) { compare_bf16_steps("cifar-colorize", false); }
TEST(Autocast, PaperPresetBf16StepsMatchPyTorch) { compare_bf16_steps("paper-256", false); }
TEST(Autocast, PaperPresetBf16CheckpointedStepsMatchPyTorch) {
  compare_bf16_steps("paper-256", true);
}

}  // namespace
}  // namespace cg::model
