// PeakMemory on a real allocation: a touched 256 MiB tensor shows in the peak, stays there
// after it is freed, and a reset() brings the peak back to the current size. On CUDA
// where this build and machine have it.
#include "train/peak_memory.h"

#include <gtest/gtest.h>

namespace cg::train {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kBig = 256 * kMiB;

// Allocates and touches kBig bytes on `device` (every page written), checks the peak,
// frees them, checks the peak again, then resets.
void check_peak_follows_a_big_allocation(const torch::Device& device) {
  PeakMemory memory(device);
  memory.reset();
  const int64_t before = memory.current_bytes();
  ASSERT_GT(memory.peak_bytes(), 0);
  {
    torch::Tensor big = torch::ones({kBig / 4}, torch::dtype(torch::kFloat).device(device));
    EXPECT_GE(memory.current_bytes(), before + kBig - 8 * kMiB);
    EXPECT_GE(memory.peak_bytes(), before + kBig - 8 * kMiB);
  }
  // Freed: the size falls, the peak stays.
  EXPECT_LT(memory.current_bytes(), before + kBig / 2);
  EXPECT_GE(memory.peak_bytes(), before + kBig - 8 * kMiB);
  memory.reset();
  if (!memory.resettable()) {
    GTEST_SKIP() << "the kernel refuses to reset the peak resident size (/proc/self/clear_refs)";
  }
  EXPECT_TRUE(memory.resettable());
  EXPECT_LE(memory.peak_bytes(), memory.current_bytes() + 16 * kMiB);
  EXPECT_LT(memory.peak_bytes(), before + kBig / 2);
}

TEST(PeakMemory, CpuPeakResidentSizeFollowsABigAllocationAndResets) {
  check_peak_follows_a_big_allocation(torch::kCPU);
}

TEST(PeakMemory, CudaPeakAllocatedBytesFollowABigAllocationAndReset) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifndef CYCLEGAN_WITH_CUDA
  GTEST_SKIP() << "built without CUDA (CYCLEGAN_WITH_CUDA=OFF)";
#endif
  check_peak_follows_a_big_allocation(torch::Device(torch::kCUDA, 0));
  // "cuda" without an index measures the current device.
  EXPECT_TRUE(PeakMemory(torch::kCUDA).device().has_index());
}

TEST(PeakMemory, ThePeakNeverFallsWithoutAReset) {
  PeakMemory memory(torch::kCPU);
  const int64_t first = memory.peak_bytes();
  { torch::Tensor t = torch::ones({kBig / 16}); }
  EXPECT_GE(memory.peak_bytes(), first);
  EXPECT_GE(memory.peak_bytes(), memory.current_bytes());
}

TEST(PeakMemory, OtherDevicesAreRefused) {
  EXPECT_THROW(PeakMemory(torch::Device(torch::kMeta)), c10::Error);
#ifndef CYCLEGAN_WITH_CUDA
  EXPECT_THROW(PeakMemory(torch::Device(torch::kCUDA, 0)), c10::Error);
#endif
}

}  // namespace
}  // namespace cg::train
