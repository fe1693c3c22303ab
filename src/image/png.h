#pragma once
// PNG files through libpng: decoding to 8-bit gray or RGB, encoding 8-bit gray or RGB.
// Every function may run on several threads at once.
#include <cstddef>
#include <cstdint>
#include <string>

#include "image/image.h"

namespace cg::image {

/// True when the `size` bytes at `data` start with the PNG signature.
bool is_png(const uint8_t* data, size_t size);

/// Decodes the PNG of `size` bytes at `data` (every colour type and bit depth, palettes and
/// Adam7 interlacing included) -> Image with channels 1 (gray, gray + alpha) or 3 (RGB, RGBA,
/// palette). Alpha and tRNS are dropped, not composited (like PIL's convert('RGB')); 16-bit
/// samples keep their high byte (v >> 8, like PIL for 16-bit RGB PNGs); gamma and colour
/// profiles are ignored. The header is read first: an image wider or taller than
/// kMaxImageSide or with more than min(max_pixels, kMaxImagePixels) pixels is refused
/// before any pixel memory is allocated. CRCs of critical chunks are checked; a zlib stream
/// that ends early, or holds more than the image, is an error.
/// Throws cg::FileError "cannot decode image <name>: <what is wrong> (libpng: <reason>)".
Image decode_png(const uint8_t* data, size_t size, const std::string& name,
                 int64_t max_pixels = kMaxImagePixels);

/// Encodes `image` (valid, channels 1 or 3) as PNG bytes (zlib level 6, adaptive filters).
/// Throws std::invalid_argument for another image.
std::string encode_png(const Image& image);

}  // namespace cg::image
