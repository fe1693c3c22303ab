#include "model/image_pool.h"

#include <gtest/gtest.h>

namespace cg::model {
namespace {

torch::Tensor batch_of(std::vector<float> ids) {
  std::vector<torch::Tensor> images;
  for (float id : ids) images.push_back(torch::full({1, 1, 2, 2}, id));
  return torch::cat(images, 0);
}

std::vector<float> ids_of(const torch::Tensor& images) {
  std::vector<float> ids;
  for (int64_t i = 0; i < images.size(0); ++i) ids.push_back(images[i][0][0][0].item<float>());
  return ids;
}

TEST(ImagePool, CapacityZeroReturnsTheInput) {
  ImagePool pool(0, 1);
  torch::Tensor x = batch_of({1, 2});
  EXPECT_TRUE(pool.query(x).equal(x));
  EXPECT_EQ(pool.size(), 0);
}

TEST(ImagePool, FillsFirstAndReturnsNewImagesMeanwhile) {
  ImagePool pool(3, 1);
  EXPECT_EQ(ids_of(pool.query(batch_of({1, 2}))), (std::vector<float>{1, 2}));
  EXPECT_EQ(ids_of(pool.query(batch_of({3}))), (std::vector<float>{3}));
  EXPECT_EQ(pool.size(), 3);
}

TEST(ImagePool, WhenFullSwapsAboutHalfTheTime) {
  ImagePool pool(50, 7);
  for (int i = 0; i < 50; ++i) pool.query(batch_of({static_cast<float>(i)}));
  int returned_old = 0;
  const int trials = 2000;
  for (int i = 0; i < trials; ++i) {
    float id = 1000.0f + static_cast<float>(i);
    float out = ids_of(pool.query(batch_of({id})))[0];
    if (out != id) {
      ++returned_old;
      EXPECT_LT(out, id) << "a swap returns an image stored earlier";
    }
  }
  EXPECT_NEAR(static_cast<double>(returned_old) / trials, 0.5, 0.05);
  EXPECT_EQ(pool.size(), 50);
}

TEST(ImagePool, RestoreRepeatsTheSameAnswers) {
  ImagePool pool(4, 11);
  for (int i = 0; i < 6; ++i) pool.query(batch_of({static_cast<float>(i)}));
  ImagePool copy(4, 0);
  copy.restore(pool.stored(), pool.rng_state());
  for (int i = 0; i < 20; ++i) {
    torch::Tensor x = batch_of({100.0f + i, 200.0f + i});
    EXPECT_EQ(ids_of(pool.query(x)), ids_of(copy.query(x)));
  }
}

TEST(ImagePool, ReturnsDetachedImages) {
  ImagePool pool(2, 1);
  torch::Tensor x = torch::rand({2, 1, 2, 2}, torch::requires_grad());
  EXPECT_FALSE(pool.query(x * 2).requires_grad());
}

}  // namespace
}  // namespace cg::model
