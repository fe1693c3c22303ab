// fp16 under data parallelism: the scalers unscale the all-reduced gradients, so an inf or
// NaN on one rank makes every rank skip the same update, back off the same scale, and keep
// bitwise-equal replicas.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "parallel/mpi_communicator.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

TEST(MixedPrecisionRanks, ANonFiniteLossOnOneRankSkipsTheStepOnEveryRank) {
  parallel::MpiCommunicator comm;
  const int last = comm.size() - 1;
  // The fault-injection hook: the last rank's D_B loss is NaN at step 2 (read when the
  // trainer is built), so only its own gradients are NaN before the all-reduce.
  ::setenv("CYCLEGAN_TEST_NONFINITE", ("2@" + std::to_string(last)).c_str(), 1);
  auto s = testing::seed_setup(testing::fresh_dir("fp16_ranks_" + std::to_string(comm.rank())));
  s.train.steps = 3;
  s.train.batch_size = 1;  // fp16 convolutions are emulated on CPU: small and slow
  s.train.precision = Precision::kFp16;
  s.train.loss_scale_init = 1024;  // low enough that these nets' gradients do not overflow
  auto source = testing::make_source(s, 16, 1, comm.rank(), comm.size());
  Trainer trainer(s.train, s.model, *source, {}, &comm);
  ::unsetenv("CYCLEGAN_TEST_NONFINITE");

  trainer.step(source->next());
  std::vector<torch::Tensor> d_b_before;
  for (const auto& p : trainer.model()->d_b_parameters()) d_b_before.push_back(p.detach().clone());
  trainer.step(source->next());
  const auto d_b_after = trainer.model()->d_b_parameters();
  for (size_t i = 0; i < d_b_after.size(); ++i) {
    EXPECT_TRUE(d_b_after[i].equal(d_b_before[i]))
        << "rank " << comm.rank() << ": D_B changed in the skipped step";
  }
  trainer.step(source->next());

  EXPECT_EQ(trainer.scaler_d_b().skipped_steps(), 1) << "rank " << comm.rank();
  EXPECT_EQ(trainer.scaler_d_b().scale_value(), 512.0) << "rank " << comm.rank();
  EXPECT_EQ(trainer.scaler_d_a().scale_value(), 1024.0);
  EXPECT_EQ(trainer.scaler_g().scale_value(), 1024.0);
  EXPECT_EQ(trainer.skipped_steps(), 1);
  trainer.check_replicas();  // throws naming the ranks whose weights differ
}

}  // namespace
}  // namespace cg::train
