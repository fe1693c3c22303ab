// PNG encoding (image/png.h): what encode_png writes, libpng and PIL read back exactly.
#include "image/png.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "image_file_builders.h"

namespace cg::image {
namespace {

TEST(EncodePng, RoundTripsGrayAndRgbExactly) {
  for (int64_t channels : {1, 3}) {
    const Image image{13, 7, channels, random_pixels(13 * 7 * channels, 4)};
    const std::string png = encode_png(image);
    ASSERT_TRUE(is_png(reinterpret_cast<const uint8_t*>(png.data()), png.size()));
    const Image back = decode_png(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "mem");
    EXPECT_EQ(back.height, 13);
    EXPECT_EQ(back.width, 7);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, image.pixels);
  }
}

TEST(EncodePng, OtherChannelCountsAndBadImagesThrow) {
  EXPECT_THROW(encode_png(Image{1, 1, 2, {1, 2}}), std::invalid_argument);
  EXPECT_THROW(encode_png(Image{1, 1, 4, {1, 2, 3, 4}}), std::invalid_argument);
  EXPECT_THROW(encode_png(Image{2, 2, 3, {1, 2, 3}}), std::invalid_argument);
}

}  // namespace
}  // namespace cg::image
