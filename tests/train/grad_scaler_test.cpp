// GradScaler replays tests/reference/grad_scaler_ref.py (torch.amp.GradScaler(device) on
// the same wheel): the scaled losses, unscaled gradients, skip decisions, scales, growth
// trackers and weights of every step are bitwise equal. The reference file comes from the
// GradScalerReferenceGenerate CTest fixture. On the CPU, or on cuda:0 under
// CYCLEGAN_TEST_DEVICE=cuda (tests/test_device.h; the reference is then written on CUDA too).
#include "train/grad_scaler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

#include "cycle_steps_replay.h"
#include "reference_file.h"
#include "test_device.h"

namespace cg::train {
namespace {

// The reference file, written on the device this test runs on: a CPU reference says nothing
// about CUDA's kernels, and the reverse.
const std::map<std::string, torch::Tensor>& reference() {
  static const std::map<std::string, torch::Tensor> ref = [] {
    return eval::testing::load_device_reference("CYCLEGAN_GRAD_SCALER_REFERENCE",
                                                "the GradScaler reference",
                                                "GradScalerReferenceGenerate");
  }();
  return ref;
}

// Compared on the CPU (the reference holds CPU tensors).
bool bitwise_equal(torch::Tensor a, const torch::Tensor& b) {
  a = a.cpu();
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  if (a.scalar_type() != torch::kFloat) return torch::equal(a, b);
  return torch::equal(a.contiguous().view(torch::kInt32), b.contiguous().view(torch::kInt32));
}

void replay(const std::string& name) {
  const auto& ref = reference();
  const torch::Device device = cg::test::test_device();
  auto at = [&](const std::string& key) {
    auto found = ref.find(name + "/" + key);
    if (found == ref.end()) throw std::runtime_error("reference file has no " + name + "/" + key);
    return found->second;
  };
  const int64_t steps = at("meta")[0].item<int64_t>();
  GradScalerOptions options;
  options.init_scale = at("init_scale").item<double>();
  options.growth_interval = at("meta")[1].item<int64_t>();
  GradScaler scaler(options, device);
  torch::Tensor w1 = at("init/w1").clone().to(device);
  torch::Tensor w2 = at("init/w2").clone().to(device);
  w1.requires_grad_(true);
  w2.requires_grad_(true);
  // Never gets a gradient.
  torch::Tensor w3 =
      torch::zeros({4}, torch::dtype(torch::kFloat).device(device).requires_grad(true));
  torch::optim::SGD sgd({w1, w2, w3}, torch::optim::SGDOptions(0.5));
  int64_t skipped = 0;
  for (int64_t k = 0; k < steps; ++k) {
    const std::string p = "step" + std::to_string(k) + "/";
    sgd.zero_grad();
    torch::Tensor scaled =
        scaler.scale((w1 * at(p + "x1").to(device)).sum() + (w2 * at(p + "x2").to(device)).sum());
    EXPECT_TRUE(bitwise_equal(scaled.detach(), at(p + "scaled_loss"))) << name << " step " << k;
    scaled.backward();
    const bool found_inf = scaler.unscale({w1, w2, w3});
    EXPECT_EQ(found_inf, at(p + "found_inf").item<bool>()) << name << " step " << k;
    EXPECT_TRUE(bitwise_equal(w1.grad(), at(p + "grad_w1")))
        << name << " step " << k << " unscaled grad w1";
    EXPECT_TRUE(bitwise_equal(w2.grad(), at(p + "grad_w2")))
        << name << " step " << k << " unscaled grad w2";
    if (!found_inf) sgd.step();
    scaler.update(found_inf);
    skipped += found_inf ? 1 : 0;
    EXPECT_EQ(scaler.scale_value(), at(p + "scale").item<double>()) << name << " step " << k;
    EXPECT_EQ(scaler.growth_tracker(), at(p + "growth_tracker").item<int64_t>())
        << name << " step " << k;
    EXPECT_TRUE(bitwise_equal(w1.detach(), at(p + "w1"))) << name << " step " << k << " weight w1";
    EXPECT_TRUE(bitwise_equal(w2.detach(), at(p + "w2"))) << name << " step " << k << " weight w2";
  }
  EXPECT_EQ(scaler.skipped_steps(), skipped);
}

TEST(GradScaler, MatchesTorchAmpGradScalerWithInfsNansAndOverflow) { replay("default"); }

TEST(GradScaler, RefusesGrowthPastFloat32LikeTorch) { replay("ceiling"); }

// fp16 training steps with loss scaling (grad_scaler_ref.py: autocast_ref.cycle_steps
// with GradScaler(device), growth interval 2): losses, scales and the weights after the
// steps equal PyTorch's bit for bit (see autocast_test.cpp for why exactly), with and
// without activation checkpointing. On CUDA where the reference found the steps not
// deterministic (the paper preset: ReflectionPad2d's backward accumulates with atomicAdd),
// the coarse tolerances autocast_test.cpp derives for its bf16 steps instead; scales and
// skips stay exact.
constexpr double kStep0LossRelTolerance = 1e-5;
constexpr double kLossRelTolerance = 1e-3;
constexpr double kWeightsOfUpdateTolerance = 0.4;

void compare_fp16_steps(const std::string& preset, bool checkpointed) {
  const auto& ref = reference();
  const torch::Device device = cg::test::test_device();
  cg::test::use_deterministic_cudnn();
  torch::set_num_threads(1);
  const std::string prefix = "fp16_steps/" + preset;
  auto deterministic = ref.find(prefix + "/deterministic");  // written on CUDA only
  const bool exact = deterministic == ref.end() || deterministic->second.item<bool>();
  GradScalerOptions options;
  options.growth_interval = 2;
  GradScaler scaler(options, device);
  std::vector<double> scales;
  std::vector<bool> skips;
  auto result = model::testing::replay_cycle_steps(
      ref, preset, prefix, c10::kHalf, checkpointed,
      [&](const torch::Tensor& loss, const std::vector<torch::Tensor>& params) {
        scaler.scale(loss).backward();
        const bool found_inf = scaler.unscale(params);
        scaler.update(found_inf);  // before the step: it only decides the next step's scale
        scales.push_back(scaler.scale_value());
        skips.push_back(found_inf);
        return !found_inf;
      },
      device);
  for (size_t k = 0; k < result.losses.size(); ++k) {
    const std::string step = std::to_string(k);
    const double want = ref.at(prefix + "/loss" + step).item<double>();
    if (exact) {
      EXPECT_EQ(result.losses[k], want) << preset << " step " << k;
    } else {
      const double rel = k == 0 ? kStep0LossRelTolerance : kLossRelTolerance;
      EXPECT_NEAR(result.losses[k], want, rel * std::abs(want)) << preset << " step " << k;
    }
    EXPECT_EQ(scales[k], ref.at(prefix + "/scale" + step).item<double>())
        << preset << " step " << k;
    EXPECT_EQ(skips[k], ref.at(prefix + "/found_inf" + step).item<bool>())
        << preset << " step " << k;
  }
  double worst = 0, diff_sq = 0, update_sq = 0;
  for (const auto& item : result.net->named_parameters()) {
    const torch::Tensor ours = item.value().detach().to(torch::kCPU, torch::kDouble);
    const torch::Tensor want = ref.at(prefix + "/final/" + item.key()).to(torch::kDouble);
    const torch::Tensor init = ref.at(prefix + "/init/" + item.key()).to(torch::kDouble);
    worst = std::max(worst, (ours - want).abs().max().item<double>());
    diff_sq += (ours - want).square().sum().item<double>();
    update_sq += (want - init).square().sum().item<double>();
  }
  std::printf(
      "%s fp16 steps%s on %s: scale after the last %g, largest weight difference to PyTorch "
      "%.3g%s\n",
      preset.c_str(), checkpointed ? " (checkpointed)" : "", device.str().c_str(), scales.back(),
      worst, exact ? "" : " (not deterministic: compared within tolerances)");
  if (exact) {
    EXPECT_EQ(worst, 0.0);
  } else {
    EXPECT_LE(std::sqrt(diff_sq / update_sq), kWeightsOfUpdateTolerance) << preset;
  }
}

TEST(GradScaler, SeedPresetFp16StepsMatchPyTorch) { compare_fp16_steps("cifar-colorize", false); }
TEST(GradScaler, PaperPresetFp16StepsMatchPyTorch) { compare_fp16_steps("paper-256", false); }
TEST(GradScaler, PaperPresetFp16CheckpointedStepsMatchPyTorch) {
  compare_fp16_steps("paper-256", true);
}

TEST(GradScaler, DisabledLeavesLossAndGradientsAlone) {
  GradScalerOptions options;
  options.enabled = false;
  GradScaler scaler(options);
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::Tensor loss = (w * 3).sum();
  EXPECT_TRUE(scaler.scale(loss).is_same(loss));
  loss.backward();
  w.mutable_grad().index_put_({0}, std::numeric_limits<float>::infinity());
  EXPECT_FALSE(scaler.unscale({w}));
  EXPECT_EQ(w.grad()[1].item<float>(), 3.0f);
  scaler.update(true);
  EXPECT_EQ(scaler.scale_value(), 65536.0);
  EXPECT_EQ(scaler.skipped_steps(), 0);
}

TEST(GradScaler, StateRoundTripsThroughAnArchiveUnderItsPrefix) {
  GradScalerOptions options;
  options.growth_interval = 3;
  GradScaler a(options);
  for (bool found_inf : {false, true, true, false, false}) a.update(found_inf);
  ASSERT_EQ(a.scale_value(), 16384.0);
  ASSERT_EQ(a.growth_tracker(), 2);
  torch::serialize::OutputArchive out;
  a.save(out, "scaler_d_a/");
  std::ostringstream bytes;
  out.save_to(bytes);

  torch::serialize::InputArchive in;
  std::istringstream stream(bytes.str());
  in.load_from(stream);
  GradScaler b(options);
  EXPECT_FALSE(b.load(in, "scaler_g/")) << "nothing under another prefix";
  EXPECT_EQ(b.scale_value(), 65536.0);
  ASSERT_TRUE(b.load(in, "scaler_d_a/"));
  EXPECT_EQ(b.scale_value(), 16384.0);
  EXPECT_EQ(b.growth_tracker(), 2);
  EXPECT_EQ(b.skipped_steps(), 2);
  // Both continue alike: one more good step grows the scale.
  a.update(false);
  b.update(false);
  EXPECT_EQ(a.scale_value(), 32768.0);
  EXPECT_EQ(b.scale_value(), a.scale_value());
  EXPECT_EQ(b.growth_tracker(), 0);
}

TEST(GradScaler, RejectsHalfGradientsAndBadOptions) {
  GradScaler scaler;
  torch::Tensor w = torch::ones({2}, torch::requires_grad());
  w.mutable_grad() = torch::ones({2}, torch::kHalf);
  EXPECT_THROW(scaler.unscale({w}), c10::Error);
  GradScalerOptions bad;
  bad.backoff_factor = 1.5;
  EXPECT_THROW(GradScaler{bad}, c10::Error);
}

}  // namespace
}  // namespace cg::train
