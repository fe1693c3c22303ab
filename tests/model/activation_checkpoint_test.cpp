// Activation checkpointing gives the gradients of the plain run bit for bit (fp32, CPU),
// for a single block, both generators and the whole cycle loss over several optimizer
// steps, and lowers the peak memory of the paper generator at 256x256.
#include "model/activation_checkpoint.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "model/autocast.h"
#include "model/cycle_gan.h"
#include "model/init.h"
#include "model/resnet_generator.h"
#include "model/unet_generator.h"

namespace cg::model {
namespace {
namespace nn = torch::nn;

// Bitwise, not ==: -0.0 and 0.0 differ here, and NaNs with equal bits are equal.
bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  TORCH_INTERNAL_ASSERT(a.element_size() == 4, "bitwise_equal compares 4-byte elements");
  return torch::equal(a.contiguous().view(torch::kInt32), b.contiguous().view(torch::kInt32));
}

void copy_parameters(const nn::Module& from, nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.parameters();
  auto dst = to.parameters();
  ASSERT_EQ(src.size(), dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

void expect_gradients_bitwise_equal(const nn::Module& plain, const nn::Module& checkpointed,
                                    const std::string& what, int64_t trainable) {
  auto a = plain.named_parameters();
  auto b = checkpointed.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  int64_t compared = 0;
  for (const auto& item : a) {
    const torch::Tensor& grad = item.value().grad();
    EXPECT_EQ(grad.defined(), item.value().requires_grad()) << what << " " << item.key();
    EXPECT_TRUE(bitwise_equal(grad, b[item.key()].grad())) << what << " gradient of " << item.key();
    compared += grad.defined() ? 1 : 0;
  }
  EXPECT_EQ(compared, trainable) << what;
}

nn::Sequential conv_norm_relu(int64_t channels, double dropout) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(channels, channels, 3).padding(1)),
                        nn::InstanceNorm2d(nn::InstanceNorm2dOptions(channels).affine(true)),
                        nn::ReLU(), nn::Dropout(dropout));
}

// One block, plain and checkpointed, from the same weights, input and RNG state: outputs,
// input and weight gradients, and the generator state after backward agree bit for bit.
void check_block(double dropout, bool autocast) {
  torch::manual_seed(1);
  auto plain = conv_norm_relu(4, dropout);
  auto ckpt = conv_norm_relu(4, dropout);
  copy_parameters(*plain, *ckpt);
  const torch::Tensor x0 = torch::randn({2, 4, 8, 8});
  torch::Tensor outputs[2], input_grads[2], next_draw[2];
  for (int run = 0; run < 2; ++run) {
    auto& net = run == 0 ? plain : ckpt;
    torch::manual_seed(7);
    torch::Tensor x = x0.clone().requires_grad_(true);
    torch::Tensor y;
    {
      std::optional<AutocastGuard> guard;
      if (autocast) guard.emplace(c10::kCPU, c10::kBFloat16);
      y = run == 0 ? net->forward(x)
                   : checkpoint([m = net.ptr()](const torch::Tensor& t) { return m->forward(t); },
                                x, net->parameters());
    }
    (y.to(torch::kFloat) * torch::linspace(-1, 1, y.numel()).view(y.sizes())).sum().backward();
    outputs[run] = y.detach().to(torch::kFloat);
    input_grads[run] = x.grad();
    next_draw[run] = torch::rand({4});
  }
  EXPECT_TRUE(bitwise_equal(outputs[0], outputs[1]));
  EXPECT_TRUE(bitwise_equal(input_grads[0], input_grads[1]));
  EXPECT_TRUE(bitwise_equal(next_draw[0], next_draw[1]))
      << "the recomputation left the RNG elsewhere";
  expect_gradients_bitwise_equal(*plain, *ckpt, "block", 4);
}

TEST(ActivationCheckpoint, BlockGradientsAreBitwiseEqual) { check_block(0.0, false); }

TEST(ActivationCheckpoint, DropoutDrawsTheForwardsMaskAgain) { check_block(0.5, false); }

TEST(ActivationCheckpoint, RecomputesUnderTheForwardsAutocast) { check_block(0.0, true); }

// Both generators under bf16 autocast, one guard per forward as the trainer will use it;
// backward after the guard ended, or inside it (autocast's cache of parameter casts still
// full; casts made in the no-grad forward must not stand in for the recompute's):
// gradients bitwise equal to the plain run.
template <typename Generator, typename Options>
void check_generator_bf16(Options options, int64_t in_channels, bool backward_inside) {
  torch::manual_seed(2);
  Generator plain(options);
  init_weights(*plain);
  Generator ckpt(options.checkpoint_activations(true));
  copy_parameters(*plain, *ckpt);
  const torch::Tensor x = torch::rand({2, in_channels, 16, 16});
  for (auto* net : {&plain, &ckpt}) {
    std::optional<AutocastGuard> guard;
    guard.emplace(c10::kCPU, c10::kBFloat16);
    torch::Tensor y = (*net)(x);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    torch::Tensor loss =
        (y.to(torch::kFloat) * torch::linspace(-1, 1, y.numel()).view(y.sizes())).sum();
    if (!backward_inside) guard.reset();
    loss.backward();
  }
  int64_t trainable = 0;
  for (const auto& p : plain->parameters()) trainable += p.requires_grad() ? 1 : 0;
  expect_gradients_bitwise_equal(*plain, *ckpt,
                                 backward_inside ? "bf16, backward in scope" : "bf16", trainable);
}

TEST(ActivationCheckpoint, ResnetGeneratorBf16GradientsBitwiseEqual) {
  for (bool inside : {false, true}) {
    check_generator_bf16<ResnetGenerator>(ResnetGeneratorOptions(3, 3).ngf(8).n_blocks(3), 3,
                                          inside);
  }
}

TEST(ActivationCheckpoint, UnetGeneratorBf16GradientsBitwiseEqual) {
  for (bool inside : {false, true}) {
    check_generator_bf16<UnetGenerator>(UnetGeneratorOptions(1, 3), 1, inside);
  }
}

TEST(ActivationCheckpoint, KeepsOnlyItsInputAndRunsPlainWithoutGrad) {
  auto net = conv_norm_relu(4, 0.0);
  torch::Tensor x = torch::randn({1, 4, 8, 8}, torch::requires_grad());
  torch::Tensor y = checkpoint([m = net.ptr()](const torch::Tensor& t) { return m->forward(t); }, x,
                               net->parameters());
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("CheckpointFunction"), std::string::npos)
      << y.grad_fn()->name();
  // Plain, y's node would be dropout's, then relu's, norm's, conv's; checkpointed it is one
  // node whose next edges are x and the 4 parameters (conv and norm weight and bias).
  EXPECT_EQ(y.grad_fn()->next_edges().size(), 1 + 4);
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(checkpoint([m = net.ptr()](const torch::Tensor& t) { return m->forward(t); }, x,
                          net->parameters())
                   .requires_grad());
}

// The CycleGAN generator loss's pattern of uses (G and F each twice, and G on a fake of F),
// `steps` optimizer steps: every gradient of every step bitwise equal.
void check_cycle_gan(CycleGanOptions options, int64_t size, int steps) {
  torch::manual_seed(0);
  CycleGan plain(options);
  init_weights(*plain);
  options.checkpoint_activations = true;
  CycleGan ckpt(options);
  copy_parameters(*plain, *ckpt);
  size_t frozen = 0;
  for (const auto& p : plain->parameters()) frozen += p.requires_grad() ? 0 : 1;
  torch::optim::Adam opt_plain(plain->generator_parameters(),
                               torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  torch::optim::Adam opt_ckpt(ckpt->generator_parameters(),
                              torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  for (int step = 0; step < steps; ++step) {
    torch::Tensor a = torch::rand({2, options.channels_a, size, size});
    torch::Tensor b = torch::rand({2, options.channels_b, size, size});
    for (auto* run : {&plain, &ckpt}) {
      CycleGan& net = *run;
      net->zero_grad();
      torch::Tensor fake_b = net->g(a);
      torch::Tensor fake_a = net->f(b);
      torch::Tensor loss = (net->f(fake_b) - a).abs().mean() + (net->g(fake_a) - b).abs().mean() +
                           (net->d_b(fake_b) - 1).pow(2).mean() +
                           (net->d_a(fake_a) - 1).pow(2).mean();
      loss.backward();
    }
    expect_gradients_bitwise_equal(*plain, *ckpt, "step " + std::to_string(step),
                                   static_cast<int64_t>(plain->parameters().size() - frozen));
    opt_plain.step();
    opt_ckpt.step();
  }
  for (const auto& item : plain->named_parameters()) {
    EXPECT_TRUE(bitwise_equal(item.value(), ckpt->named_parameters()[item.key()]))
        << "weight " << item.key() << " after " << steps << " steps";
  }
}

TEST(ActivationCheckpoint, SeedUnetCycleBitwiseEqualOverSteps) {
  check_cycle_gan(CycleGanOptions{}, 32, 3);
}

TEST(ActivationCheckpoint, PaperResnet9CycleBitwiseEqualOverSteps) {
  CycleGanOptions paper;
  paper.channels_a = 3;
  paper.generator = GeneratorArch::kResnet;
  paper.discriminator = DiscriminatorArch::kPatch;
  paper.output_activation = OutputActivation::kTanh;
  check_cycle_gan(paper, 32, 2);
}

struct PeakRss {
  long before_kib = 0;    // resident after building the generator, before the forward
  long peak_kib = 0;      // the peak resident size through forward + backward
  bool measured = false;  // false: the kernel would not reset the high-water mark
};

long status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

// Forward + backward of the paper generator (3->3, ngf 64, 9 blocks) on one 256x256
// image in a forked child, which reports through a pipe. The child inherits the parent's
// resident pages and high-water mark, so it resets the mark (clear_refs 5, Linux >= 4.0)
// after building the model and reads VmHWM after backward: the peak of this step alone.
PeakRss paper_generator_peak(bool checkpointed) {
  int fds[2];
  TORCH_INTERNAL_ASSERT(pipe(fds) == 0);
  pid_t pid = fork();
  TORCH_INTERNAL_ASSERT(pid >= 0, "fork failed");
  if (pid == 0) {
    close(fds[0]);
    torch::manual_seed(0);
    ResnetGenerator g(ResnetGeneratorOptions(3, 3).checkpoint_activations(checkpointed));
    init_weights(*g);
    torch::Tensor x = torch::rand({1, 3, 256, 256}) * 2 - 1;
    PeakRss out;
    bool reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5" << std::flush);
    out.before_kib = status_kib("VmRSS:");
    g(x).mean().backward();
    out.peak_kib = status_kib("VmHWM:");
    out.measured = reset && out.before_kib > 0 && out.peak_kib > 0;
    ssize_t written = write(fds[1], &out, sizeof out);
    _exit(written == static_cast<ssize_t>(sizeof out) ? 0 : 1);
  }
  close(fds[1]);
  PeakRss out;
  ssize_t got = read(fds[0], &out, sizeof out);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  TORCH_INTERNAL_ASSERT(
      got == static_cast<ssize_t>(sizeof out) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
      "the measuring child failed");
  return out;
}

TEST(ActivationCheckpoint, PaperGeneratorPeakMemoryLowerAt256) {
  PeakRss plain = paper_generator_peak(false);
  PeakRss ckpt = paper_generator_peak(true);
  if (!plain.measured || !ckpt.measured) {
    GTEST_SKIP() << "cannot reset the peak resident size (/proc/self/clear_refs, Linux >= 4.0)";
  }
  const double plain_mib = (plain.peak_kib - plain.before_kib) / 1024.0;
  const double ckpt_mib = (ckpt.peak_kib - ckpt.before_kib) / 1024.0;
  std::printf(
      "paper generator 256x256 forward+backward, peak RSS above the built model: plain %.0f MiB, "
      "checkpointed %.0f MiB (ratio %.2f); whole process %.0f vs %.0f MiB (ratio %.2f)\n",
      plain_mib, ckpt_mib, ckpt_mib / plain_mib, plain.peak_kib / 1024.0, ckpt.peak_kib / 1024.0,
      static_cast<double>(ckpt.peak_kib) / plain.peak_kib);
  EXPECT_LT(ckpt.peak_kib - ckpt.before_kib, plain.peak_kib - plain.before_kib);
}

}  // namespace
}  // namespace cg::model
