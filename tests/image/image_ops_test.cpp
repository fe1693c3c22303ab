// The pixel operations of the image module on images made in memory: channel conversion
// (image/color.h, BT.601 luma), resizing (image/resize.h) and cropping (image/image.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "image/color.h"
#include "image/image.h"
#include "image/resize.h"

namespace cg::image {
namespace {

Image make_image(int64_t height, int64_t width, int64_t channels, std::vector<uint8_t> pixels) {
  return Image{height, width, channels, std::move(pixels)};
}

// 0, 1, 2, ... (mod 256): every pixel differs from its neighbours.
std::vector<uint8_t> counting_pixels(size_t count) {
  std::vector<uint8_t> pixels(count);
  std::iota(pixels.begin(), pixels.end(), uint8_t{0});
  return pixels;
}

TEST(ToChannels, LumaOfKnownColors) {
  const std::vector<std::vector<uint8_t>> colors = {
      {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}, {10, 20, 30}, {0, 0, 250}};
  std::vector<uint8_t> pixels;
  for (const auto& color : colors) pixels.insert(pixels.end(), color.begin(), color.end());
  const Image rgb = make_image(1, 7, 3, pixels);
  const Image gray = to_channels(rgb, 1);
  ASSERT_EQ(gray.channels, 1);
  // 76.245, 149.685, 29.07, 255, 0, 18.15, 28.5 (a half: rounds up; PIL's 'L' gives 28).
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{76, 150, 29, 255, 0, 18, 29}));
}

TEST(ToChannels, GrayRepeatsAndSameCountCopies) {
  const Image gray = make_image(2, 2, 1, {0, 17, 128, 255});
  const Image rgb = to_channels(gray, 3);
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{0, 0, 0, 17, 17, 17, 128, 128, 128, 255, 255, 255}));
  EXPECT_EQ(to_channels(gray, 1).pixels, gray.pixels);
  EXPECT_EQ(to_channels(rgb, 3).pixels, rgb.pixels);
  EXPECT_EQ(to_channels(rgb, 1).pixels, gray.pixels);
}

TEST(ToChannels, OtherCountsAndBadImagesThrow) {
  const Image gray = make_image(2, 2, 1, {0, 17, 128, 255});
  EXPECT_THROW(to_channels(gray, 2), std::invalid_argument);
  EXPECT_THROW(to_channels(gray, 4), std::invalid_argument);
  EXPECT_THROW(to_channels(make_image(1, 1, 4, {1, 2, 3, 4}), 3), std::invalid_argument);
  EXPECT_THROW(to_channels(make_image(2, 2, 3, {1, 2, 3}), 1), std::invalid_argument);
}

TEST(Resize, ConstantImageStaysConstant) {
  for (int64_t channels : {1, 3}) {
    const Image flat = make_image(9, 13, channels, std::vector<uint8_t>(9 * 13 * channels, 137));
    for (auto [h, w] : {std::pair<int64_t, int64_t>{4, 5}, {9, 40}, {30, 31}, {1, 1}, {9, 13}}) {
      const Image out = resize(flat, h, w);
      ASSERT_EQ(out.height, h);
      ASSERT_EQ(out.width, w);
      ASSERT_EQ(out.channels, channels);
      EXPECT_EQ(out.pixels, std::vector<uint8_t>(h * w * channels, 137)) << h << "x" << w;
    }
  }
}

TEST(Resize, GradientStaysMonotone) {
  const int64_t h = 3, w = 16;
  std::vector<uint8_t> pixels;
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) pixels.push_back(static_cast<uint8_t>(x * 17));  // 0..255
  }
  const Image ramp = make_image(h, w, 1, pixels);
  for (int64_t new_w : {5, 7, 15, 17, 40, 128}) {
    const Image out = resize(ramp, 4, new_w);
    for (int64_t y = 0; y < 4; ++y) {
      for (int64_t x = 1; x < new_w; ++x) {
        EXPECT_LE(out.pixels[y * new_w + x - 1], out.pixels[y * new_w + x]) << new_w << " at " << x;
      }
      EXPECT_LT(out.pixels[y * new_w], 40);
      EXPECT_GT(out.pixels[y * new_w + new_w - 1], 215);
      // Every row of a horizontal ramp is the same row, up to float rounding.
      for (int64_t x = 0; x < new_w; ++x) {
        EXPECT_NEAR(out.pixels[y * new_w + x], out.pixels[x], 1) << new_w << " at " << x;
      }
    }
  }
}

TEST(Resize, SameSizeIsAnExactCopy) {
  const Image image = make_image(5, 6, 3, counting_pixels(5 * 6 * 3));
  EXPECT_EQ(resize(image, 5, 6).pixels, image.pixels);
}

TEST(Resize, BadSizesThrow) {
  const Image image = make_image(2, 2, 1, {1, 2, 3, 4});
  EXPECT_THROW(resize(image, 0, 4), std::invalid_argument);
  EXPECT_THROW(resize(image, 4, -1), std::invalid_argument);
  EXPECT_THROW(resize(image, kMaxImageSide + 1, 4), std::invalid_argument);
  EXPECT_THROW(resize(Image{}, 4, 4), std::invalid_argument);
}

TEST(Crop, PicksTheRectangle) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 4 * 5 * 3; ++i) pixels.push_back(static_cast<uint8_t>(i));
  const Image image = make_image(4, 5, 3, pixels);
  const Image out = crop(image, 1, 2, 2, 3);
  ASSERT_EQ(out.height, 2);
  ASSERT_EQ(out.width, 3);
  ASSERT_EQ(out.channels, 3);
  std::vector<uint8_t> expected;
  for (int y = 1; y < 3; ++y) {
    for (int x = 2; x < 5; ++x) {
      for (int c = 0; c < 3; ++c) expected.push_back(static_cast<uint8_t>((y * 5 + x) * 3 + c));
    }
  }
  EXPECT_EQ(out.pixels, expected);
  EXPECT_EQ(crop(image, 0, 0, 4, 5).pixels, image.pixels);
}

TEST(Crop, OutsideTheImageThrows) {
  const Image image = make_image(4, 5, 1, std::vector<uint8_t>(20, 0));
  EXPECT_THROW(crop(image, -1, 0, 2, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 0, -1, 2, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 3, 0, 2, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 0, 4, 2, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 0, 0, 0, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 0, 0, 2, 0), std::out_of_range);
  EXPECT_THROW(crop(image, INT64_MAX, 0, 2, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 1, 0, INT64_MAX, 2), std::out_of_range);
  EXPECT_THROW(crop(image, 0, 1, 2, INT64_MIN), std::out_of_range);
}

}  // namespace
}  // namespace cg::image
