#pragma once
// The tensors a Python reference script of this folder wrote with torch.save(dict), at the
// path CTest passes in an environment variable.
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_device.h"

namespace cg::eval::testing {

inline std::map<std::string, torch::Tensor> load_reference(const char* env_var) {
  const char* path = std::getenv(env_var);
  if (path == nullptr)
    throw std::runtime_error(std::string(env_var) + " is not set (run through CTest)");
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) throw std::runtime_error(std::string("cannot read ") + path);
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : torch::pickle_load(bytes).toGenericDict()) {
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  return out;
}

/// The string a reference script wrote under `key` as a uint8 tensor of its bytes, or
/// `missing` when the file has no `key`.
inline std::string reference_text(const std::map<std::string, torch::Tensor>& ref,
                                  const std::string& key, const std::string& missing = "") {
  auto found = ref.find(key);
  if (found == ref.end()) return missing;
  const torch::Tensor bytes = found->second.to(torch::kUInt8).contiguous();
  std::string text(static_cast<size_t>(bytes.numel()), '\0');
  for (int64_t i = 0; i < bytes.numel(); ++i) text[i] = static_cast<char>(bytes[i].item<uint8_t>());
  return text;
}

/// load_reference, for a reference written on the device this test runs on (its "device"
/// text; a file without one is a CPU reference): a CPU reference says nothing about CUDA's
/// kernels, and the reverse. Throws std::runtime_error naming `what` and the CTest test
/// `generator` that writes it otherwise.
inline std::map<std::string, torch::Tensor> load_device_reference(const char* env_var,
                                                                  const std::string& what,
                                                                  const std::string& generator) {
  auto loaded = load_reference(env_var);
  const std::string written = reference_text(loaded, "device", "cpu");
  const std::string here = cg::test::on_cuda() ? "cuda" : "cpu";
  if (written != here)
    throw std::runtime_error(what + " was written on " + written + ", this test runs on " + here +
                             ": regenerate it (" + generator +
                             ") with the same "
                             "CYCLEGAN_TEST_DEVICE");
  return loaded;
}

}  // namespace cg::eval::testing
