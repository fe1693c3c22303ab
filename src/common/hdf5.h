#pragma once
// Checked HDF5 C calls. Every call goes through CG_H5 once: a negative result throws
// cg::FileError whose message names what we were doing (the file, the dataset) and the
// innermost description from HDF5's error stack, which HDF5 itself no longer prints.
// Debian's libhdf5 is built thread-safe, so handles may be used from several threads.
#include <hdf5.h>

#include <string>
#include <utility>

#include "common/error.h"

namespace cg::h5 {

/// Turns off HDF5's automatic printing of its error stack (process-wide, idempotent).
/// Called by everything in this header that opens or creates a file.
void quiet_errors();

/// The innermost message of the current thread's HDF5 error stack ("" when empty).
std::string last_error();

/// Throws FileError("<context>: <HDF5's message>").
[[noreturn]] void fail(const std::string& context);

/// An owned HDF5 identifier closed by the matching H5*close on destruction. Move-only.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now; reports a failed close (a failed flush) as FileError naming `context`.
  void close(const std::string& context);
  void reset();

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

/// True when the file starts with the HDF5 signature (checked before H5Fopen so that a
/// non-HDF5 file gets a plain error, not a library stack).
bool has_hdf5_signature(const std::string& path);

/// Writes a scalar integer attribute / a fixed-length string attribute on `object`.
void write_attribute(hid_t object, const char* name, int64_t value);
void write_attribute(hid_t object, const char* name, const std::string& value);
/// Reads them back; FileError naming `context` when absent or of another type.
int64_t read_int_attribute(hid_t object, const char* name, const std::string& context);
std::string read_string_attribute(hid_t object, const char* name, const std::string& context);

}  // namespace cg::h5

/// Evaluates an HDF5 call once; a negative result throws FileError naming the context.
#define CG_H5(call, ...)                                                      \
  ([&] {                                                                      \
    auto cg_h5_result = (call);                                               \
    if (cg_h5_result < 0) ::cg::h5::fail(::cg::detail::str_cat(__VA_ARGS__)); \
    return cg_h5_result;                                                      \
  }())
