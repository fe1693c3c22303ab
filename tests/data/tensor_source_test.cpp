#include "data/tensor_source.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace cg::data {
namespace {

// Image i of a domain is filled with the value i.
torch::Tensor numbered(int64_t n, int64_t channels) {
  return torch::arange(n, torch::kFloat)
      .view({n, 1, 1, 1})
      .expand({n, channels, 2, 2})
      .contiguous();
}

std::vector<float> ids(const torch::Tensor& images) {
  std::vector<float> out;
  for (int64_t i = 0; i < images.size(0); ++i) out.push_back(images[i][0][0][0].item<float>());
  return out;
}

TEST(TensorSource, EpochCoversEachImageOnceInUnpairedOrders) {
  TensorSource source(numbered(12, 1), numbered(12, 3), 4, 9);
  EXPECT_EQ(source.batches_per_epoch(), 3);
  std::vector<float> seen_a, seen_b;
  for (int i = 0; i < 3; ++i) {
    UnpairedBatch batch = source.next();
    EXPECT_EQ(batch.a.sizes(), (std::vector<int64_t>{4, 1, 2, 2}));
    EXPECT_EQ(batch.b.sizes(), (std::vector<int64_t>{4, 3, 2, 2}));
    for (float id : ids(batch.a)) seen_a.push_back(id);
    for (float id : ids(batch.b)) seen_b.push_back(id);
  }
  EXPECT_NE(seen_a, seen_b) << "A and B must be drawn in their own orders";
  std::sort(seen_a.begin(), seen_a.end());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(seen_a[i], i);
  EXPECT_EQ(source.position().epoch, 1);
  EXPECT_EQ(source.position().batch, 0);
}

TEST(TensorSource, SeekGivesTheBatchesThatWouldHaveCome) {
  TensorSource run(numbered(10, 1), numbered(9, 1), 2, 3);
  for (int i = 0; i < 7; ++i) run.next();
  SourcePosition where = run.position();
  TensorSource resumed(numbered(10, 1), numbered(9, 1), 2, 3);
  resumed.seek(where);
  for (int i = 0; i < 10; ++i) {
    UnpairedBatch x = run.next(), y = resumed.next();
    ASSERT_TRUE(x.a.equal(y.a));
    ASSERT_TRUE(x.b.equal(y.b));
  }
}

TEST(TensorSource, RejectsBatchLargerThanADomainAndBadPositions) {
  EXPECT_THROW(TensorSource(numbered(3, 1), numbered(8, 1), 4, 0), ConfigError);
  TensorSource source(numbered(8, 1), numbered(8, 1), 4, 0);
  EXPECT_THROW(source.seek({0, 2}), FileError);
}

}  // namespace
}  // namespace cg::data
