#pragma once
// The device a test labelled gpu runs on: cuda:0 when CYCLEGAN_TEST_DEVICE=cuda (what
// scripts/gpu_check exports), the CPU otherwise. A test asked for CUDA on a machine or build
// without it fails (test_device() throws) instead of quietly checking the CPU again.
#include <torch/torch.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace cg::test {

/// Whether CYCLEGAN_TEST_DEVICE asks for CUDA. Unset, empty or "cpu": no; "cuda": yes;
/// anything else throws std::runtime_error (a typo must not silently mean the CPU).
inline bool on_cuda() {
  const char* value = std::getenv("CYCLEGAN_TEST_DEVICE");
  const std::string device = value != nullptr ? value : "";
  if (device.empty() || device == "cpu") return false;
  if (device == "cuda") return true;
  throw std::runtime_error("CYCLEGAN_TEST_DEVICE=" + device + ": expected cpu or cuda");
}

/// torch::kCPU, or cuda:0 when on_cuda(). Throws std::runtime_error when CUDA is asked for
/// and torch::cuda::is_available() is false (no GPU, no driver, or a CPU-only LibTorch).
inline torch::Device test_device() {
  if (!on_cuda()) return torch::kCPU;
  if (!torch::cuda::is_available())
    throw std::runtime_error(
        "CYCLEGAN_TEST_DEVICE=cuda but torch::cuda::is_available() is false: this test must run "
        "on a GPU (unset CYCLEGAN_TEST_DEVICE to run it on the CPU)");
  return torch::Device(torch::kCUDA, 0);
}

/// On CUDA: cuDNN chooses its algorithms by heuristics (no benchmarking, whose choice depends
/// on timings) among deterministic ones, as the Python references set with
/// torch.backends.cudnn.benchmark = False and .deterministic = True, so that C++ and Python
/// run the same kernels. Process-wide, for the convolutions that follow. Nothing on CPU.
inline void use_deterministic_cudnn() {
  if (!on_cuda()) return;
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicCuDNN(true);
}

}  // namespace cg::test
