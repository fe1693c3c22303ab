#pragma once
// Image files: decoding a JPEG or PNG by its content, writing a PNG, and listing the images
// of a folder. Nothing keeps state; every function may run on several threads at once.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "image/image.h"

namespace cg::image {

/// Reads and decodes the image file at `path` (see decode_image_memory).
/// Throws cg::FileError naming `path` when it is missing, not a regular file, unreadable,
/// empty, or does not decode.
Image decode_image(const std::string& path);

/// Decodes the `size` bytes at `data`, a JPEG (see decode_jpeg) or a PNG (see decode_png),
/// told apart by their signatures, not by a file name -> Image with channels 1 or 3.
/// Other formats are refused: the CycleGAN folders hold JPEG and PNG.
/// Throws cg::FileError whose message names `name` and what is wrong ("empty file", "not a
/// JPEG or PNG: looks like GIF", "corrupt or truncated PNG data (libpng: ...)", "40000x10
/// pixels is larger than the limit ...").
Image decode_image_memory(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_pixels = kMaxImagePixels);

/// Writes `image` (channels 1 or 3) as a PNG at `path`, atomically. Throws FileError naming
/// `path` when it cannot be written.
void write_png(const std::string& path, const Image& image);

/// Paths ("<dir>/<name>") of the regular files (symbolic links to them included) directly in
/// `dir` whose name ends in .jpg, .jpeg or .png in any case, sorted by name (byte order).
/// Hidden files (name starting with '.') and subfolders are skipped.
/// Throws cg::FileError naming `dir` when it is missing, not a directory, or unreadable.
std::vector<std::string> list_images(const std::string& dir);

/// As list_images, but through every subfolder too: paths relative to `dir`
/// ("sub/folder/name.jpg"), sorted by that path (byte order). Hidden files and hidden
/// folders are skipped; links to folders are not followed (no cycles).
/// Throws cg::FileError naming `dir` (or the subfolder) when one cannot be read.
std::vector<std::string> list_images_recursive(const std::string& dir);

}  // namespace cg::image
