#pragma once
// Replays autocast_ref.py's cycle_steps() (SGD on the cycle loss of G and F, every
// generator forward in its own autocast scope) from a reference file, for the autocast
// (bf16) and GradScaler (fp16) tests, on the CPU or on a CUDA device.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/autocast.h"
#include "model/cycle_gan.h"

namespace cg::model::testing {

/// Runs backward of `loss` for `params` and says whether to take the optimizer step.
using BackwardStep =
    std::function<bool(const torch::Tensor& loss, const std::vector<torch::Tensor>& params)>;

struct CycleStepsResult {
  std::vector<double> losses;
  CycleGan net{nullptr};
};

inline CycleStepsResult replay_cycle_steps(const std::map<std::string, torch::Tensor>& ref,
                                           const std::string& preset, const std::string& prefix,
                                           c10::ScalarType dtype, bool checkpoint_activations,
                                           const BackwardStep& backward_step,
                                           const torch::Device& device = torch::kCPU) {
  auto at = [&](const std::string& key) {
    auto found = ref.find(prefix + "/" + key);
    if (found == ref.end()) throw std::runtime_error("reference file has no " + prefix + "/" + key);
    return found->second;
  };
  const torch::Tensor meta = at("meta");  // size, batch, n_blocks, steps
  CycleGanOptions options;                // the seed preset's networks
  if (preset == "paper-256") {
    options.channels_a = 3;
    options.generator = GeneratorArch::kResnet;
    options.discriminator = DiscriminatorArch::kPatch;
    options.output_activation = OutputActivation::kTanh;
    options.n_blocks = meta[2].item<int64_t>();
  }
  options.checkpoint_activations = checkpoint_activations;
  CycleStepsResult result;
  result.net = CycleGan(options);
  CycleGan& net = result.net;
  net->to(device);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : net->named_parameters()) item.value().copy_(at("init/" + item.key()));
  }
  const std::vector<torch::Tensor> params = net->generator_parameters();
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1));  // autocast_ref.STEP_LR
  auto forward = [&](bool g, const torch::Tensor& x) {
    AutocastGuard guard(device.type(), dtype);
    return g ? net->g(x) : net->f(x);
  };
  for (int64_t k = 0; k < meta[3].item<int64_t>(); ++k) {
    const torch::Tensor a = at("a" + std::to_string(k)).to(device);
    const torch::Tensor b = at("b" + std::to_string(k)).to(device);
    sgd.zero_grad();
    torch::Tensor loss = (forward(false, forward(true, a)) - a).abs().mean() +
                         (forward(true, forward(false, b)) - b).abs().mean();
    result.losses.push_back(loss.item<double>());
    if (backward_step(loss, params)) sgd.step();
  }
  return result;
}

}  // namespace cg::model::testing
