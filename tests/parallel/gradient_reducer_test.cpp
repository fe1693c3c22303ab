#include "parallel/gradient_reducer.h"

#include <gtest/gtest.h>

#include "test_communicator.h"

namespace cg::parallel {
namespace {

// Parameters of odd sizes on the communicator's device; with 1 KiB buckets several
// buckets split the set, and a 300-float tensor (1200 bytes) is larger than a bucket alone.
std::vector<torch::Tensor> odd_parameters(const Communicator& comm) {
  const auto on = torch::TensorOptions().device(comm.device()).requires_grad(true);
  std::vector<torch::Tensor> params;
  for (int64_t n : {1, 7, 300, 5, 255, 1, 64, 33, 129}) params.push_back(torch::zeros({n}, on));
  params.push_back(torch::zeros({3, 5, 7}, on));
  return params;
}

class ReducerTest : public ::testing::TestWithParam<bool> {};

TEST_P(ReducerTest, EveryGradientBecomesTheMeanOverRanks) {
  auto owned = test::make_test_communicator();
  Communicator& comm = *owned;
  auto params = odd_parameters(comm);
  ReducerOptions options;
  options.bucket_bytes = 1024;
  options.first_bucket_bytes = 64;
  options.overlap = GetParam();
  GradientReducer reducer(params, comm, options);
  EXPECT_GT(reducer.bucket_count(), 3);
  const int n = comm.size(), r = comm.rank();
  for (int round = 0; round < 3; ++round) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    reducer.prepare();
    // d/dp of sum((r + 1 + round) * p * index) = (r + 1 + round) * index
    torch::Tensor loss = torch::zeros({});
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor index =
          torch::arange(params[i].numel(), params[i].options().requires_grad(false))
              .view_as(params[i]);
      loss = loss + (params[i] * index * static_cast<float>(r + 1 + round)).sum();
    }
    loss.backward();
    reducer.finish();
    const float mean = (n + 1) / 2.0f + round;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor expected =
          torch::arange(params[i].numel(), torch::kFloat).view_as(params[i]) * mean;
      EXPECT_TRUE(torch::allclose(params[i].grad().cpu(), expected, 1e-6, 1e-5))
          << "parameter " << i << " round " << round;
    }
  }
}

TEST_P(ReducerTest, UnusedParametersKeepNoGradient) {
  auto owned = test::make_test_communicator();
  Communicator& comm = *owned;
  auto params = odd_parameters(comm);
  ReducerOptions options;
  options.bucket_bytes = 512;
  options.overlap = GetParam();
  GradientReducer reducer(params, comm, options);
  reducer.prepare();
  (params[2] * static_cast<float>(comm.rank() + 1)).sum().backward();
  reducer.finish();
  EXPECT_TRUE(
      torch::allclose(params[2].grad().cpu(), torch::full({300}, (comm.size() + 1) / 2.0f)));
  EXPECT_FALSE(params[0].grad().defined());
  EXPECT_FALSE(params[9].grad().defined());
}

INSTANTIATE_TEST_SUITE_P(Overlap, ReducerTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

TEST(GradientReducer, BucketsFollowReverseOrderWithASmallFirstBucket) {
  auto owned = test::make_test_communicator();
  Communicator& comm = *owned;
  auto params = odd_parameters(comm);
  ReducerOptions options;
  options.bucket_bytes = 1024;
  options.first_bucket_bytes = 64;
  GradientReducer reducer(params, comm, options);
  auto sizes = reducer.bucket_sizes();
  ASSERT_FALSE(sizes.empty());
  // Reverse order: the first bucket starts with the last parameter (105 floats, 420 B).
  EXPECT_EQ(sizes[0], 420);
  int64_t total = 0;
  for (auto s : sizes) total += s;
  EXPECT_EQ(total, reducer.total_bytes());
  int64_t numel = 0;
  for (auto& p : params) numel += p.numel();
  EXPECT_EQ(total, numel * 4);
}

// A reducer replaced by a new one on the same parameters (a trainer rebuilt on resume): the
// old one's destruction leaves the new one's hooks in place, and once no reducer is left,
// backward fills .grad() as plain autograd does.
TEST(GradientReducer, DestructionRemovesOnlyItsOwnHooks) {
  auto owned = test::make_test_communicator();
  Communicator& comm = *owned;
  auto params = odd_parameters(comm);
  auto first = std::make_unique<GradientReducer>(params, comm);
  auto second = std::make_unique<GradientReducer>(params, comm);
  first.reset();
  second->prepare();
  (params[2] * static_cast<float>(comm.rank() + 1)).sum().backward();
  second->finish();
  EXPECT_TRUE(
      torch::allclose(params[2].grad().cpu(), torch::full({300}, (comm.size() + 1) / 2.0f)));
  second.reset();
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  (params[2] * static_cast<float>(comm.rank() + 1)).sum().backward();
  EXPECT_TRUE(torch::allclose(params[2].grad().cpu(),
                              torch::full({300}, static_cast<float>(comm.rank() + 1))));
}

}  // namespace
}  // namespace cg::parallel
