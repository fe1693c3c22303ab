#include "data/synthetic_scenes.h"

#include <gtest/gtest.h>

#include "image/tensor_color.h"

namespace cg::data {
namespace {

using image::to_gray;
using image::with_luma;

TEST(SyntheticScenes, SameSeedSamePicturesAndUnitRange) {
  torch::Tensor x = make_scenes(6, 32, 4);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
  EXPECT_TRUE(x.equal(make_scenes(6, 32, 4)));
  EXPECT_FALSE(x.equal(make_scenes(6, 32, 5)));
  EXPECT_GE(x.min().item<float>(), 0.0f);
  EXPECT_LE(x.max().item<float>(), 1.0f);
  // Picture i depends on (seed, i) only: a longer set starts with the same pictures.
  EXPECT_TRUE(make_scenes(8, 32, 4).narrow(0, 0, 6).equal(x));
}

TEST(SyntheticScenes, PicturesAreColorful) {
  torch::Tensor x = make_scenes(16, 32, 1);
  torch::Tensor gray = to_gray(x).expand({-1, 3, -1, -1});
  EXPECT_GT((x - gray).abs().mean().item<float>(), 0.05f);
}

TEST(ToGray, UsesBt601Weights) {
  torch::Tensor rgb =
      torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f}).view({3, 3, 1, 1});
  torch::Tensor gray = to_gray(rgb).flatten();
  EXPECT_FLOAT_EQ(gray[0].item<float>(), 0.299f);
  EXPECT_FLOAT_EQ(gray[1].item<float>(), 0.587f);
  EXPECT_FLOAT_EQ(gray[2].item<float>(), 0.114f);
}

TEST(WithLuma, TakesTheLuminanceOfTheGrayAndKeepsTheChroma) {
  torch::Tensor rgb = make_scenes(4, 16, 2);
  torch::Tensor gray = make_scenes(4, 16, 3).select(1, 1).unsqueeze(1);
  torch::Tensor out = with_luma(rgb, gray);
  EXPECT_TRUE(torch::allclose(to_gray(out), gray, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(out - to_gray(out), rgb - to_gray(rgb), 1e-6, 1e-6));
  // A colour image on its own luma is left as it is.
  EXPECT_TRUE(torch::allclose(with_luma(rgb, to_gray(rgb)), rgb, 1e-6, 1e-6));
}

}  // namespace
}  // namespace cg::data
