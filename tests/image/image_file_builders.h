// Image files built byte by byte for the decoder tests: what encode_png does not write
// (alpha, 16 bits, palettes, Adam7), JPEGs of every kind libjpeg-turbo's encoder makes, and
// headers that lie. Failures of zlib or the encoder are GoogleTest failures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::image {

/// `count` bytes of noise, the same for the same seed.
std::vector<uint8_t> random_pixels(size_t count, uint32_t seed);

/// A smooth picture (JPEG keeps it within a few levels), HWC: channel c of (y, x).
std::vector<uint8_t> smooth_pixels(int height, int width, int channels);

/// A PNG of the given IHDR depth and color type. rows: the image data, each row already
/// prefixed by its filter byte; palette, transparency: PLTE and tRNS bodies, none when
/// empty; keep: how many bytes of the zlib stream go into the IDAT chunk.
std::string make_png(uint32_t width, uint32_t height, int depth, int color_type,
                     const std::string& rows, const std::string& palette = "",
                     const std::string& transparency = "", size_t keep = std::string::npos);

/// Adam7 rows of an 8-bit image (HWC bytes, `channels` per pixel): the 7 passes one after
/// the other, each row with filter byte 0; empty passes have no rows.
std::string adam7_rows(const std::vector<uint8_t>& hwc, int width, int height, int channels);

/// An 8-bit PNG of `channels` (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA) samples per pixel.
std::string make_png8(int width, int height, int channels, const std::vector<uint8_t>& hwc);

/// A JPEG by libjpeg-turbo's encoder (4:4:4, `flags`: TJFLAG_*): gray and gray + alpha are
/// written as RGB (YCbCr in the file, as stb_image_write did), alpha is ignored; cmyk: the
/// pixels are CMYK and the file Adobe YCCK.
std::string make_jpeg(int width, int height, int channels, const std::vector<uint8_t>& hwc,
                      int quality, int flags = 0, bool cmyk = false);

/// A baseline gray JPEG built by hand, the Huffman tables chosen to be small: each 8x8
/// block is flat, so only DC coefficients are coded (quantizer 8: the DC is the level - 128)
/// and the decoder gives the levels back exactly. levels: one per block, rows of blocks.
std::string make_gray_jpeg(int width, int height, const std::vector<int>& levels);

}  // namespace cg::image
