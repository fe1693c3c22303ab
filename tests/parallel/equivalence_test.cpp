// N ranks with batch b train exactly like one process with batch N*b over the same
// samples (pool off): after K steps every weight agrees to 1e-5 relative, both presets.
// Each rank also runs the one-process training itself and compares. In float64: the two
// runs add the same numbers in another order, and in float32 Adam/RMSprop would scale
// that rounding noise up to full steps wherever a gradient is close to zero.
#include <gtest/gtest.h>

#include <sstream>

#include "common/error.h"
#include "parallel/mpi_communicator.h"
#include "trainer_test_util.h"

namespace cg::train {
namespace {

constexpr int64_t kSteps = 3;

class Equivalence : public ::testing::TestWithParam<bool> {};

TEST_P(Equivalence, RanksWithBatchBMatchOneProcessWithTheCombinedBatch) {
  parallel::MpiCommunicator comm;
  const int world = comm.size(), rank = comm.rank();
  const std::string name =
      std::string(GetParam() ? "equiv_paper_" : "equiv_seed_") + std::to_string(rank);
  auto s = GetParam() ? testing::paper_setup(testing::fresh_dir(name))
                      : testing::seed_setup(testing::fresh_dir(name));
  s.train.pool_size = 0;
  s.train.steps = kSteps;
  s.train.dtype = torch::kDouble;
  const int64_t per_rank = s.train.batch_size;
  const int64_t images = per_rank * world * 2;  // two global batches per epoch

  auto shard = testing::make_source(s, images, 1, rank, world);
  Trainer parallel(s.train, s.model, *shard, {}, &comm);
  for (int64_t k = 0; k < kSteps; ++k) parallel.step(shard->next());

  auto one = s;
  one.train.batch_size = per_rank * world;
  one.train.run_dir += "_single";
  auto whole = testing::make_source(one, images, 1);
  Trainer single(one.train, one.model, *whole);
  for (int64_t k = 0; k < kSteps; ++k) single.step(whole->next());

  auto expected = single.model()->named_parameters();
  double worst = 0;
  for (const auto& item : parallel.model()->named_parameters()) {
    double err = testing::relative_error(item.value(), expected[item.key()]);
    worst = std::max(worst, err);
    EXPECT_LE(err, 1e-5) << item.key() << " on rank " << rank;
  }
  std::ostringstream worst_text;
  worst_text << worst;
  RecordProperty("worst_relative_error", worst_text.str());
  parallel.check_replicas();
}

TEST(ReplicaCheck, NamesTheRankWhoseWeightsDiverged) {
  parallel::MpiCommunicator comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs two ranks";
  auto s = testing::seed_setup(testing::fresh_dir("replica_" + std::to_string(comm.rank())));
  s.train.steps = 1;
  auto source = testing::make_source(s, 16, 1, comm.rank(), comm.size());
  Trainer trainer(s.train, s.model, *source, {}, &comm);
  trainer.step(source->next());
  trainer.check_replicas();  // identical after a real step
  if (comm.rank() == comm.size() - 1) {
    torch::NoGradGuard no_grad;
    trainer.model()->parameters()[0].add_(1e-3);
  }
  try {
    trainer.check_replicas();
    FAIL() << "diverged replicas must be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank(s) " + std::to_string(comm.size() - 1)),
              std::string::npos)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(BothPresets, Equivalence, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Paper" : "Seed"; });

}  // namespace
}  // namespace cg::train
