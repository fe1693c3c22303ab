#include <gtest/gtest.h>

#include "test_communicator.h"

namespace cg::parallel {
namespace {

TEST(Communicator, AllReduceBroadcastAndGatherHoldAtAnyWorldSize) {
  auto owned = test::make_test_communicator();
  Communicator& comm = *owned;
  const auto on = torch::TensorOptions().device(comm.device());
  const int n = comm.size(), r = comm.rank();
  torch::Tensor x = torch::full({1001}, static_cast<float>(r + 1), on);
  comm.all_reduce_sum(x);
  EXPECT_TRUE(x.eq(n * (n + 1) / 2.0f).all().item<bool>());

  torch::Tensor y = torch::arange(5, on.dtype(torch::kLong)) + 100 * r;
  comm.broadcast(y, n - 1);
  EXPECT_TRUE(y.cpu().equal(torch::arange(5, torch::kLong) + 100 * (n - 1)));

  std::vector<int64_t> ranks = comm.all_gather(10 * r);
  ASSERT_EQ(static_cast<int>(ranks.size()), n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(ranks[i], 10 * i);
  comm.barrier();
  // It says where its tensors live (the trainer asks it): the CPU for MPI, the GPU for NCCL.
  EXPECT_EQ(comm.device().type(), test::on_cuda() ? torch::kCUDA : torch::kCPU);
  EXPECT_STREQ(comm.backend(), test::on_cuda() ? "nccl" : "mpi");
}

TEST(Communicator, AsyncReductionsCompleteInOrder) {
  auto owned = test::make_test_communicator();
  Communicator& comm = *owned;
  const auto on = torch::TensorOptions().device(comm.device()).dtype(torch::kDouble);
  std::vector<torch::Tensor> buffers;
  std::vector<std::shared_ptr<Work>> works;
  for (int i = 0; i < 8; ++i) {
    buffers.push_back(torch::full({37 * (i + 1)}, static_cast<double>(comm.rank() + i), on));
    works.push_back(comm.all_reduce_sum_async(buffers.back()));
  }
  const int n = comm.size();
  for (int i = 0; i < 8; ++i) {
    works[i]->wait();
    double expected = n * (n - 1) / 2.0 + n * i;
    EXPECT_TRUE(buffers[i].eq(expected).all().item<bool>()) << "buffer " << i;
  }
}

}  // namespace
}  // namespace cg::parallel
