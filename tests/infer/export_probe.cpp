// The C++ side of the ONNX/TorchScript export test (export_e2e.py): loads a checkpoint
// the way cyclegan_translate does and writes, for each CASE, a fixed random input and the
// C++ generator's output on it, in torch.save's format (read by torch.load in Python and
// torch::pickle_load in C++).
//
//   cyclegan_export_probe CHECKPOINT_OR_RUN_DIR OUTPUT.pt CASE...
//   CASE = DIRECTION:NxHxW, e.g. AtoB:3x48x80; keys "CASE/input" and "CASE/output"
//   (N, C, H, W) float32 in the model's value range.
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/command_line.h"
#include "common/error.h"
#include "infer/pytorch_export.h"
#include "infer/saved_model.h"

namespace {

struct ProbeCase {
  std::string name;
  bool a_to_b = true;
  int64_t n = 0, h = 0, w = 0;
};

ProbeCase parse_case(const std::string& text) {
  ProbeCase c;
  c.name = text;
  const auto colon = text.find(':');
  const std::string direction = text.substr(0, colon);
  long long n = 0, h = 0, w = 0;
  char extra = 0;
  const bool sizes_ok =
      colon != std::string::npos &&
      std::sscanf(text.c_str() + colon + 1, "%lldx%lldx%lld%c", &n, &h, &w, &extra) == 3;
  TORCH_CHECK(sizes_ok && (direction == "AtoB" || direction == "BtoA") && n > 0 && h > 0 && w > 0,
              "bad case '", text, "': expected AtoB:NxHxW or BtoA:NxHxW");
  c.a_to_b = direction == "AtoB";
  c.n = n;
  c.h = h;
  c.w = w;
  return c;
}

int run(int argc, char** argv) {
  if (argc < 4) {
    std::cerr
        << "usage: cyclegan_export_probe CHECKPOINT_OR_RUN_DIR OUTPUT.pt DIRECTION:NxHxW...\n";
    return 2;
  }
  cg::infer::SavedModel saved = cg::infer::load_saved_model(argv[1], cg::cli::model_description);
  const auto& options = saved.net->options();
  const auto range = saved.net->range();
  torch::manual_seed(20240611);
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (int i = 3; i < argc; ++i) {
    const ProbeCase c = parse_case(argv[i]);
    const int64_t channels = c.a_to_b ? options.channels_a : options.channels_b;
    const torch::Tensor input =
        torch::rand({c.n, channels, c.h, c.w}) * (range.hi - range.lo) + range.lo;
    const torch::Tensor output = c.a_to_b ? saved.net->g(input) : saved.net->f(input);
    std::cout << c.name << ": input " << input.sizes() << " -> output " << output.sizes() << "\n";
    tensors.emplace_back(c.name + "/input", input);
    tensors.emplace_back(c.name + "/output", output);
  }
  cg::infer::save_for_torch(argv[2], tensors);
  std::cout << "wrote " << argv[2] << " (step " << saved.step << " of " << saved.path << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "cyclegan_export_probe: " << cg::describe(e) << "\n";
    return 1;
  }
}
