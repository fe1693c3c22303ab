#pragma once
// JPEG files through libjpeg-turbo's TurboJPEG API: decoding to 8-bit gray or RGB.
// Every function may run on several threads at once.
#include <cstddef>
#include <cstdint>
#include <string>

#include "image/image.h"

namespace cg::image {

/// True when the `size` bytes at `data` start with a JPEG start-of-image marker (FF D8 FF).
bool is_jpeg(const uint8_t* data, size_t size);

/// Decodes the JPEG of `size` bytes at `data` (baseline or progressive, arithmetic coding
/// included; gray, YCbCr, RGB, CMYK or YCCK) -> Image with channels 1 (gray) or 3 (every
/// other colour space; Adobe CMYK as Photoshop writes it, R = C * K / 255 on the stored,
/// inverted values, as stb_image and PIL do). The header is read first: an image wider or
/// taller than kMaxImageSide or with more than min(max_pixels, kMaxImagePixels) pixels is
/// refused before any pixel memory is allocated. Warnings (a file cut short, corrupt
/// entropy-coded data) are errors, and a progressive JPEG of more than 500 scans is refused
/// (the CPU denial of service libjpeg-turbo's TJFLAG_LIMITSCANS stops).
/// Throws cg::FileError "cannot decode image <name>: <what is wrong> (libjpeg-turbo: <reason>)".
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name,
                  int64_t max_pixels = kMaxImagePixels);

}  // namespace cg::image
