#include "common/hdf5.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

namespace cg::h5 {

void quiet_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string last_error() {
  // The stack is walked from the innermost frame (H5E_WALK_UPWARD): its description says
  // what actually failed ("truncated file", "unable to open file"), the outer ones only
  // which API call it was.
  std::string message;
  auto visit = [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
    auto& text = *static_cast<std::string*>(out);
    if (n == 0 && err->desc) {
      text = err->desc;
      char minor[256] = {0};
      if (H5Eget_msg(err->min_num, nullptr, minor, sizeof(minor)) > 0 &&
          std::strcmp(minor, err->desc) != 0) {
        text += std::string(" (") + minor + ")";
      }
    }
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, visit, &message);
  H5Eclear2(H5E_DEFAULT);
  // A failed system call is described with a time stamp, the file descriptor, a buffer
  // address and byte counts around the system's own text: keep only that text.
  const std::string marker = "error message = '";
  const size_t at = message.find(marker);
  if (at != std::string::npos) {
    const size_t end = message.find('\'', at + marker.size());
    std::string text = message.substr(at + marker.size(), end - at - marker.size());
    if (!text.empty())
      text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
  }
  return message;
}

void fail(const std::string& context) {
  const std::string why = last_error();
  throw FileError(context + (why.empty() ? std::string(": HDF5 call failed") : ": " + why));
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, -1);
    close_ = other.close_;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = -1;
}

void Handle::close(const std::string& context) {
  if (id_ < 0) return;
  const herr_t status = close_(std::exchange(id_, -1));
  if (status < 0) fail(context);
}

bool has_hdf5_signature(const std::string& path) {
  // The superblock may sit at 0, 512, 1024, ... (a user block); files we write start at 0.
  static const char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::ifstream in(path, std::ios::binary);
  char head[8];
  for (std::streamoff at = 0; in; at = at == 0 ? 512 : at * 2) {
    in.seekg(at);
    if (!in.read(head, sizeof(head))) return false;
    if (std::memcmp(head, kSignature, sizeof(head)) == 0) return true;
    if (at > (1 << 20)) return false;
  }
  return false;
}

void write_attribute(hid_t object, const char* name, int64_t value) {
  Handle space(CG_H5(H5Screate(H5S_SCALAR), "attribute ", name), H5Sclose);
  Handle attr(CG_H5(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    "creating attribute ", name),
              H5Aclose);
  CG_H5(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "writing attribute ", name);
}

void write_attribute(hid_t object, const char* name, const std::string& value) {
  Handle type(CG_H5(H5Tcopy(H5T_C_S1), "attribute ", name), H5Tclose);
  CG_H5(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), "attribute ", name);
  CG_H5(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "attribute ", name);
  Handle space(CG_H5(H5Screate(H5S_SCALAR), "attribute ", name), H5Sclose);
  Handle attr(CG_H5(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    "creating attribute ", name),
              H5Aclose);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  CG_H5(H5Awrite(attr.get(), type.get(), padded.data()), "writing attribute ", name);
}

namespace {
Handle open_attribute(hid_t object, const char* name, const std::string& context) {
  const htri_t exists = CG_H5(H5Aexists(object, name), context, ": attribute ", name);
  CG_REQUIRE(exists > 0, FileError, context, ": attribute '", name, "' is missing");
  return Handle(CG_H5(H5Aopen(object, name, H5P_DEFAULT), context, ": attribute ", name), H5Aclose);
}
}  // namespace

int64_t read_int_attribute(hid_t object, const char* name, const std::string& context) {
  Handle attr = open_attribute(object, name, context);
  Handle type(CG_H5(H5Aget_type(attr.get()), context, ": attribute ", name), H5Tclose);
  CG_REQUIRE(H5Tget_class(type.get()) == H5T_INTEGER, FileError, context, ": attribute '", name,
             "' is not an integer");
  int64_t value = 0;
  CG_H5(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), context, ": reading attribute ", name);
  return value;
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& context) {
  Handle attr = open_attribute(object, name, context);
  Handle type(CG_H5(H5Aget_type(attr.get()), context, ": attribute ", name), H5Tclose);
  CG_REQUIRE(H5Tget_class(type.get()) == H5T_STRING, FileError, context, ": attribute '", name,
             "' is not a string");
  const htri_t variable = CG_H5(H5Tis_variable_str(type.get()), context, ": attribute ", name);
  if (variable > 0) {
    // Written by h5py or another tool: variable-length string.
    char* text = nullptr;
    Handle memtype(CG_H5(H5Tcopy(H5T_C_S1), context), H5Tclose);
    CG_H5(H5Tset_size(memtype.get(), H5T_VARIABLE), context);
    CG_H5(H5Aread(attr.get(), memtype.get(), &text), context, ": reading attribute ", name);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  const size_t size = H5Tget_size(type.get());
  std::vector<char> buffer(size + 1, '\0');
  CG_H5(H5Aread(attr.get(), type.get(), buffer.data()), context, ": reading attribute ", name);
  return std::string(buffer.data());
}

}  // namespace cg::h5
