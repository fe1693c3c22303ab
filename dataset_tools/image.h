#pragma once
// Torch-free image files for the dataset tool: decoding JPEG and PNG into 8-bit gray or RGB,
// channel conversion, resizing, cropping, and listing the images of a folder. Nothing keeps
// state; every function may run on several threads at once (stb_image 2.27 writes the name
// of an unknown PNG chunk into one shared buffer, so two threads failing on such chunks at
// once may garble each other's message, nothing else).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::tools {

/// An 8-bit image, rows top to bottom, channels interleaved (HWC): 1 = gray, 3 = RGB.
/// Valid when height, width > 0, 1 <= channels <= 4 and
/// pixels.size() == height * width * channels; pixel (y, x) channel c is at
/// pixels[(y * width + x) * channels + c].
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

/// Largest width or height decode_image accepts.
constexpr int64_t kMaxImageSide = 30000;
/// Largest width * height decode_image accepts (268 Mpx; about 0.8 GB as RGB).
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

/// Reads and decodes the image file at `path` (see decode_image_memory).
/// Throws cg::FileError naming `path` when it is missing, not a regular file, unreadable,
/// empty, or does not decode.
Image decode_image(const std::string& path);

/// Decodes the `size` bytes at `data`, a JPEG (baseline or progressive; gray, YCbCr or CMYK)
/// or a PNG (every color type and bit depth, palettes and interlacing included), with
/// stb_image. Other formats are refused even where stb_image reads them: the CycleGAN
/// folders hold JPEG and PNG, and the GIF, HDR, PNM, TGA and PSD decoders of the stb_image
/// 2.27 that Debian ships have published memory-safety and hang bugs that nothing guards.
///   -> Image with channels 1 (gray, gray + alpha) or 3 (RGB, RGBA, palette, CMYK).
/// Alpha is dropped, not composited or premultiplied (like PIL's convert('RGB')); 16-bit
/// samples keep their high byte (v >> 8, like PIL for 16-bit RGB PNGs).
/// The header is read first: an image wider or taller than kMaxImageSide or with more than
/// min(max_pixels, kMaxImagePixels) pixels is refused before any pixel memory is allocated.
/// Inputs that would make stb_image 2.27 overrun a buffer, read uninitialized memory or
/// allocate gigabytes are refused before it sees them: JPEG Huffman tables of more than 256
/// codes or used by a scan without being defined; PNG chunks running past the end, and PNG
/// data that is cut short, corrupt, or inflates past twice what the image needs.
/// Throws cg::FileError whose message names `name`, what is wrong ("empty file", "not a
/// JPEG or PNG", "corrupt or truncated PNG data", "40000x10 pixels is larger than ...") and
/// stb_image's or zlib's own reason where they give one. PNG CRCs and the zlib Adler-32 are
/// not checked (stb does not).
Image decode_image_memory(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_pixels = kMaxImagePixels);

/// image (H, W, C_in), C_in in {1, 3} -> (H, W, channels), channels in {1, 3}.
/// 3 -> 1: ITU-R BT.601 luma round(0.299 R + 0.587 G + 0.114 B) in exact integer arithmetic,
/// halves rounded up (PIL's convert('L') uses a 16-bit fixed-point approximation that
/// differs by 1 on 0.05% of colors); 1 -> 3: gray repeated; same count: a copy.
/// Throws std::invalid_argument for an invalid image or another channel pair.
Image to_channels(const Image& image, int64_t channels);

/// image (H, W, C) -> (height, width, C), aspect ratio not kept: the official CycleGAN
/// 'resize_and_crop' step (PIL BICUBIC to load_size x load_size). Catmull-Rom filter (the
/// a = -0.5 cubic PIL's BICUBIC uses), widened when shrinking so it also averages, edges
/// clamped, values filtered as stored (no sRGB linearization, as PIL and torchvision do) and
/// clamped to [0, 255]. The same size returns a copy.
/// Throws std::invalid_argument for an invalid image, a size <= 0, or a side of the input or
/// output larger than kMaxImageSide.
Image resize(const Image& image, int64_t height, int64_t width);

/// image (H, W, C) -> (height, width, C): rows [top, top + height), columns
/// [left, left + width). Throws std::invalid_argument for an invalid image and
/// std::out_of_range when the rectangle is empty or not inside the image.
Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width);

/// Paths ("<dir>/<name>") of the regular files (symbolic links to them included) directly in
/// `dir` whose name ends in .jpg, .jpeg or .png in any case, sorted by name (byte order).
/// Hidden files (name starting with '.') and subfolders are skipped.
/// Throws cg::FileError naming `dir` when it is missing, not a directory, or unreadable.
std::vector<std::string> list_images(const std::string& dir);

}  // namespace cg::tools
