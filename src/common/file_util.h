#pragma once
// Crash-safe file writing: content goes to a temporary file in the target directory, is
// fsync'ed, then renamed over the target and the directory is fsync'ed. A reader sees the
// old file or the complete new one, never a torn write.
#include <cstdint>
#include <functional>
#include <string>

namespace cg {

/// Writes `content` to `path` atomically. Throws FileError naming `path` on failure.
void write_file_atomic(const std::string& path, const std::string& content);

/// Calls `write_to(tmp_path)` to produce the file under a temporary name next to `path`,
/// then fsyncs and renames it to `path` atomically. The temporary file is removed if
/// `write_to` throws.
void produce_file_atomic(const std::string& path,
                         const std::function<void(const std::string& tmp_path)>& write_to);

/// Reads a whole file. Throws FileError naming `path` when it cannot be read.
std::string read_file(const std::string& path);

/// CRC-32 (zlib) of a byte string.
uint32_t crc32_of(const std::string& bytes);

}  // namespace cg
