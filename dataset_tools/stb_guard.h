#pragma once
// Internal to the image decoder (image.cpp and its fuzz target): format sniffing and the
// checks that walk a JPEG's markers or a PNG's chunks before stb_image 2.27 sees the bytes,
// refusing the inputs that would make it overrun a buffer, read uninitialized memory or
// allocate gigabytes. Each reads the input as stb's memory reader does (zeros past the end)
// and stops quietly wherever stb itself would fail cleanly, leaving that error to stb.
// Nothing keeps state; every function may run on several threads at once.
#include <cstddef>
#include <cstdint>
#include <string>

namespace cg::tools {

/// True when the `size` bytes at `data` start with the 8-byte PNG signature. Never throws.
bool is_png(const uint8_t* data, size_t size);

/// True when stb_image would take the `size` bytes at `data` for a JPEG: any run of 0xff
/// bytes, then 0xd8 (SOI). Never throws.
bool is_jpeg(const uint8_t* data, size_t size);

/// Walks the markers of the JPEG at `data` as stbi__decode_jpeg_header and
/// stbi__decode_jpeg_image do. Throws cg::FileError naming `name` ("cannot decode image
/// <name>: corrupt JPEG: ...") for a DHT table declaring more than 256 codes, or a scan
/// using a Huffman table no DHT segment defined; returns otherwise, also where stb would
/// fail on its own. Call only when is_jpeg() holds.
void check_jpeg_huffman_tables(const uint8_t* data, size_t size, const std::string& name);

/// Walks the chunks of the PNG at `data` as stbi__parse_png_file does and inflates its IDAT
/// stream with zlib, counting the output without keeping it (memory: 64 KiB plus zlib's
/// state). Throws cg::FileError naming `name` for an IDAT chunk running past the end, a
/// compressed stream that is cut short or corrupt, or one that inflates past twice the
/// bytes the IHDR size (sides up to kMaxImageSide) needs; returns where stb would fail
/// without inflating (no IEND, no IDAT, no usable IHDR). Adler-32 and CRCs are not checked,
/// as stb does not. Call only when is_png() holds.
void check_png_stream(const uint8_t* data, size_t size, const std::string& name);

}  // namespace cg::tools
