#include "pickle_values.h"

#include <algorithm>

#include "common/error.h"

namespace cg::tools {

namespace {

using pickle_internal::next_code_point;
using pickle_internal::shorten;

[[noreturn]] void fail_value(const PickleDocument& doc, const PickleValue& value,
                             const std::string& what, const std::string& problem) {
  throw FileError(
      detail::str_cat(doc.name(), ": ", what, " (pickle byte ", value.offset, ") ", problem));
}

bool is_codecs_encode(const PickleValue& v) {
  if (v.kind != PickleKind::kObject || !v.callable->is_global("_codecs", "encode")) return false;
  const auto& a = v.args->items;
  return a.size() == 2 && a[0]->kind == PickleKind::kStr && a[1]->kind == PickleKind::kStr &&
         (a[1]->text == "latin1" || a[1]->text == "latin-1");
}

bool is_builtin(const PickleValue& v, const char* name) {
  return v.kind == PickleKind::kObject &&
         (v.callable->is_global("__builtin__", name) || v.callable->is_global("builtins", name));
}

// UTF-8 text -> latin-1 bytes, or false when a code point is above U+00FF or `limit` bytes
// would be exceeded.
bool latin1_of(const std::string& utf8, std::string& out, size_t limit) {
  out.clear();
  out.reserve(std::min(utf8.size(), limit));
  uint32_t cp = 0;
  for (size_t i = 0; i < utf8.size();) {
    if (!next_code_point(utf8, i, cp) || cp > 0xFF || out.size() >= limit) return false;
    out += static_cast<char>(cp);
  }
  return true;
}

}  // namespace

bool pickle_text_equals(const PickleValue& value, const std::string& key) {
  if (value.kind == PickleKind::kBytes || value.kind == PickleKind::kStr) {
    return value.text == key;
  }
  if (!is_codecs_encode(value)) return false;
  std::string bytes;
  return latin1_of(value.args->items[0]->text, bytes, key.size()) && bytes == key;
}

const PickleValue* pickle_dict_get(const PickleDocument& doc, const PickleValue& dict,
                                   const std::string& key) {
  if (dict.kind != PickleKind::kDict) {
    fail_value(doc, dict, "the pickled value",
               detail::str_cat("is a ", pickle_kind_name(dict.kind), ", expected a dict"));
  }
  for (size_t i = dict.items.size(); i >= 2; i -= 2) {
    if (pickle_text_equals(*dict.items[i - 2], key)) return dict.items[i - 1];
  }
  return nullptr;
}

std::string pickle_dict_keys(const PickleValue& dict) {
  if (dict.kind != PickleKind::kDict) return "";
  constexpr size_t kMaxKeys = 16;
  std::string out;
  for (size_t i = 0; i + 1 < dict.items.size() && i < 2 * kMaxKeys; i += 2) {
    const PickleValue& key = *dict.items[i];
    std::string text;
    if (key.kind == PickleKind::kBytes || key.kind == PickleKind::kStr) {
      text = shorten(key.text, 40);
    } else if (is_codecs_encode(key)) {
      text = shorten(key.args->items[0]->text, 40);
    } else {
      text = std::string("<") + pickle_kind_name(key.kind) + ">";
    }
    out += (out.empty() ? "" : ", ") + text;
  }
  if (dict.items.size() > 2 * kMaxKeys) out += ", ...";
  return out;
}

std::string pickle_bytes(const PickleDocument& doc, const PickleValue& value,
                         const std::string& what) {
  if (value.kind == PickleKind::kBytes) return value.text;
  if (is_codecs_encode(value)) {
    std::string out;
    if (!latin1_of(value.args->items[0]->text, out, value.args->items[0]->text.size())) {
      fail_value(doc, value, what, "holds a code point above U+00FF in its latin-1 text");
    }
    return out;
  }
  // Protocols 2..4 write b'' as bytes() and a bytearray as bytearray(bytes).
  if ((is_builtin(value, "bytes") || is_builtin(value, "bytearray")) && value.args->items.empty()) {
    return "";
  }
  if (is_builtin(value, "bytearray") && value.args->items.size() == 1) {
    const PickleValue& inner = *value.args->items[0];
    if (inner.kind == PickleKind::kBytes || is_codecs_encode(inner)) {
      return pickle_bytes(doc, inner, what);
    }
  }
  std::string kind = pickle_kind_name(value.kind);
  if (value.kind == PickleKind::kObject && value.callable->kind == PickleKind::kGlobal) {
    kind += " " + shorten(value.callable->text + "." + value.callable->name, 80);
  }
  fail_value(doc, value, what, "is a " + kind + ", expected bytes");
}

std::vector<int64_t> pickle_int_list(const PickleDocument& doc, const PickleValue& value,
                                     const std::string& what) {
  if (value.kind != PickleKind::kList && value.kind != PickleKind::kTuple) {
    fail_value(doc, value, what,
               detail::str_cat("is a ", pickle_kind_name(value.kind), ", expected a list of int"));
  }
  std::vector<int64_t> out;
  out.reserve(value.items.size());
  for (size_t i = 0; i < value.items.size(); ++i) {
    const PickleValue& item = *value.items[i];
    if (item.kind == PickleKind::kInt) {
      out.push_back(item.integer);
    } else if (item.kind == PickleKind::kBool) {
      out.push_back(item.boolean ? 1 : 0);
    } else {
      fail_value(doc, value, what,
                 detail::str_cat("has a ", pickle_kind_name(item.kind), " at index ", i,
                                 ", expected int"));
    }
  }
  return out;
}

namespace {

void check_uint8_dtype(const PickleDocument& doc, const PickleValue& dtype,
                       const std::string& what) {
  if (dtype.kind != PickleKind::kObject || !dtype.callable->is_global("numpy", "dtype")) {
    fail_value(doc, dtype, what, "has a dtype that is not a numpy.dtype");
  }
  const auto& args = dtype.args->items;
  if (args.empty() || !pickle_text_equals(*args[0], "u1")) {
    std::string name = args.empty() ? "?"
                       : (args[0]->kind == PickleKind::kStr || args[0]->kind == PickleKind::kBytes)
                           ? shorten(args[0]->text, 20)
                           : pickle_kind_name(args[0]->kind);
    fail_value(doc, dtype, what, "has dtype '" + name + "', expected uint8 ('u1')");
  }
  // State (version, byte order, subarray, names, fields, ...): a plain u1 has no
  // subarray, names or fields.
  if (dtype.state != nullptr && dtype.state->kind == PickleKind::kTuple) {
    const auto& st = dtype.state->items;
    for (size_t i = 2; i < std::min<size_t>(st.size(), 5); ++i) {
      if (st[i]->kind != PickleKind::kNone) {
        fail_value(doc, dtype, what, "has a structured or subarray dtype, expected plain uint8");
      }
    }
  }
}

std::vector<int64_t> read_shape(const PickleDocument& doc, const PickleValue& shape,
                                const std::string& what) {
  if (shape.kind != PickleKind::kTuple) {
    fail_value(doc, shape, what, "has a shape that is not a tuple");
  }
  std::vector<int64_t> dims = pickle_int_list(doc, shape, what + " shape");
  for (int64_t d : dims) {
    if (d < 0) fail_value(doc, shape, what, detail::str_cat("has a negative dimension ", d));
  }
  return dims;
}

bool is_fortran_flag_set(const PickleDocument& doc, const PickleValue& v, const std::string& what) {
  if (v.kind != PickleKind::kBool && v.kind != PickleKind::kInt) {
    fail_value(doc, v, what, "has an order flag that is not a bool");
  }
  return v.boolean || v.integer != 0;
}

PickleArrayU8 make_array(const PickleDocument& doc, const PickleValue& node,
                         const std::string& what, std::vector<int64_t> shape,
                         const std::string& bytes) {
  // Multiply only while the product stays within the byte count, so it cannot overflow.
  bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  uint64_t count = empty ? 0 : 1;
  bool fits = true;
  for (size_t i = 0; i < shape.size() && !empty && fits; ++i) {
    uint64_t d = static_cast<uint64_t>(shape[i]);
    fits = count <= bytes.size() / d;
    count *= fits ? d : 1;
  }
  if (!fits || count != bytes.size()) {
    std::string dims;
    for (int64_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    fail_value(doc, node, what,
               detail::str_cat("has shape (", dims, ") but ", bytes.size(), " data bytes"));
  }
  PickleArrayU8 out;
  out.shape = std::move(shape);
  out.data.assign(bytes.begin(), bytes.end());
  return out;
}

}  // namespace

PickleArrayU8 pickle_uint8_array(const PickleDocument& doc, const PickleValue& value,
                                 const std::string& what) {
  if (value.kind != PickleKind::kObject) {
    fail_value(doc, value, what,
               detail::str_cat("is a ", pickle_kind_name(value.kind), ", expected a numpy array"));
  }
  const PickleValue& fn = *value.callable;
  const auto& args = value.args->items;
  if (fn.is_global("numpy._core.numeric", "_frombuffer") ||
      fn.is_global("numpy.core.numeric", "_frombuffer")) {
    // _frombuffer(buffer, dtype, shape, order), numpy's protocol-5 form.
    if (args.size() != 4) fail_value(doc, value, what, "has a malformed _frombuffer call");
    check_uint8_dtype(doc, *args[1], what);
    if (!pickle_text_equals(*args[3], "C")) {
      fail_value(doc, value, what, "is not in C order");
    }
    return make_array(doc, value, what, read_shape(doc, *args[2], what),
                      pickle_bytes(doc, *args[0], what + " data"));
  }
  if (!fn.is_global("numpy._core.multiarray", "_reconstruct") &&
      !fn.is_global("numpy.core.multiarray", "_reconstruct")) {
    fail_value(doc, value, what, "is not a numpy array");
  }
  if (args.empty() || !args[0]->is_global("numpy", "ndarray")) {
    fail_value(doc, value, what, "is not a plain numpy.ndarray");
  }
  // ndarray.__setstate__((version, shape, dtype, is_fortran, data)); version is optional.
  const PickleValue* state = value.state;
  if (state == nullptr || state->kind != PickleKind::kTuple ||
      (state->items.size() != 4 && state->items.size() != 5)) {
    fail_value(doc, value, what, "has no ndarray state (shape, dtype, order, data)");
  }
  size_t base = state->items.size() - 4;
  check_uint8_dtype(doc, *state->items[base + 1], what);
  if (is_fortran_flag_set(doc, *state->items[base + 2], what)) {
    fail_value(doc, value, what, "is not in C order");
  }
  return make_array(doc, value, what, read_shape(doc, *state->items[base], what),
                    pickle_bytes(doc, *state->items[base + 3], what + " data"));
}

}  // namespace cg::tools
