#pragma once
// Crash-safe file writing: content goes to a temporary file in the target directory, is
// fsync'ed, then renamed over the target and the directory is fsync'ed. A reader sees the
// old file or the complete new one, never a torn write.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cg {

/// Writes `content` to `path` atomically. Throws FileError naming `path` and the cause
/// ("no space left on device") on failure; the temporary file is removed then.
void write_file_atomic(const std::string& path, const std::string& content);

/// Calls `write_to(tmp_path)` to produce the file under a temporary name next to `path`,
/// then fsyncs and renames it to `path` atomically. The temporary file is removed if
/// `write_to` throws.
void produce_file_atomic(const std::string& path,
                         const std::function<void(const std::string& tmp_path)>& write_to);

/// fsyncs the directory `dir`, so that renames into it survive a crash. Throws FileError.
void sync_directory(const std::string& dir);

/// A name next to `path` for a temporary file or folder of this process:
/// "<dir>/.<name>.<kind>.<host>.<pid>" (host with its dots as '_'), which
/// remove_stale_temporaries recognises once the process is gone.
std::string temporary_sibling(const std::string& path, const std::string& kind);

/// Removes the temporaries (files and folders named by temporary_sibling) that processes
/// of this host left in `dir` and that are no longer running: what a killed writer leaves.
/// Temporaries of live processes and of other hosts sharing the folder are kept. Returns
/// the paths removed; errors are ignored (a folder that cannot be read has none to remove).
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

/// The system's text for the errno value `error`, from a lower-case letter, as it reads in
/// the middle of a message: "no space left on device".
std::string os_error_text(int error);

/// Reads a whole file. Throws FileError naming `path` when it cannot be read.
std::string read_file(const std::string& path);

/// CRC-32 (zlib) of a byte string.
uint32_t crc32_of(const std::string& bytes);

}  // namespace cg
