// What a LibTorch user does with `python -m cyclegan_dist.export --torchscript`: loads the
// module with torch::jit::load and runs it. Links only LibTorch: no cyclegan_dist code.
// Compares its outputs with the C++ generator's outputs in a probe file written by
// cyclegan_export_probe (keys "DIRECTION:NxHxW/input" and ".../output").
//
//   cyclegan_torchscript_check MODEL.ts.pt PROBE.pt DIRECTION TOLERANCE
// Exit 0 when every case of DIRECTION matches to TOLERANCE (max abs difference), 1 otherwise.
#include <torch/script.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in, "cannot open ", path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: cyclegan_torchscript_check MODEL.ts.pt PROBE.pt AtoB|BtoA TOLERANCE\n";
    return 2;
  }
  const std::string direction = argv[3];
  const double tolerance = std::stod(argv[4]);

  torch::jit::ExtraFilesMap extra{{"cyclegan_dist.json", ""}};
  torch::jit::Module module = torch::jit::load(argv[1], torch::kCPU, extra);
  module.eval();
  const std::string& metadata = extra["cyclegan_dist.json"];
  std::cout << "metadata: " << metadata << "\n";
  if (metadata.find("\"direction\": \"" + direction + "\"") == std::string::npos) {
    std::cerr << "FAIL: the module's cyclegan_dist.json does not say direction " << direction
              << "\n";
    return 1;
  }

  const c10::Dict<c10::IValue, c10::IValue> probe =
      torch::jit::pickle_load(read_file(argv[2])).toGenericDict();
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : probe) tensors[item.key().toStringRef()] = item.value().toTensor();

  torch::NoGradGuard no_grad;
  int cases = 0, failures = 0;
  for (const auto& [key, input] : tensors) {
    const std::string suffix = "/input";
    if (key.rfind(direction + ":", 0) != 0 || key.size() < suffix.size() ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string name = key.substr(0, key.size() - suffix.size());
    const torch::Tensor expected = tensors.at(name + "/output");
    const torch::Tensor got = module.forward({input}).toTensor();
    const bool same_shape = got.sizes() == expected.sizes();
    const double error = same_shape ? (got - expected).abs().max().item<double>() : -1.0;
    const bool ok = same_shape && error <= tolerance;
    ++cases;
    failures += !ok;
    std::cout << "torchscript " << name << ": output " << got.sizes()
              << ", max |torchscript - c++| = " << error << (ok ? " ok" : " FAIL") << "\n";
  }
  if (cases == 0) {
    std::cerr << "FAIL: no " << direction << " cases in " << argv[2] << "\n";
    return 1;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "cyclegan_torchscript_check: " << e.what() << "\n";
    return 1;
  }
}
