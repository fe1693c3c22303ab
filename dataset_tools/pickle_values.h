#pragma once
// Reading values out of an unpickled graph (see pickle.h): the few shapes the CIFAR-10
// python batches need, namely dict lookups by text key, byte strings, lists of ints and
// uint8 numpy arrays. None of these recurse more than a fixed few levels, so they are safe
// on the cyclic graphs a pickle may build.
#include <cstdint>
#include <string>
#include <vector>

#include "pickle.h"

namespace cg::tools {

/// True when `value` is the text `key`: a str, a bytes, or a protocol-2 encoded bytes
/// (`_codecs.encode(str, 'latin1')`) with that content. Never throws.
bool pickle_text_equals(const PickleValue& value, const std::string& key);

/// The value stored under text key `key` in dict `dict` (str, bytes or encoded-bytes keys;
/// the last one wins, as in Python), or nullptr when absent. Throws FileError naming
/// `doc` when `dict` is not a dict.
const PickleValue* pickle_dict_get(const PickleDocument& doc, const PickleValue& dict,
                                   const std::string& key);

/// Printable list of a dict's text keys ("batch_label, data, labels"), at most 16 of them,
/// each cut to 40 characters; non-text keys appear as their kind. Never throws.
std::string pickle_dict_keys(const PickleValue& dict);

/// Raw bytes of a bytes value, a Python 2 str, or a protocol-2 `_codecs.encode(str,
/// 'latin1')` object. `what` names the value in errors. Throws FileError naming `doc` and
/// the node's offset for any other value or a str with a code point above U+00FF.
std::string pickle_bytes(const PickleDocument& doc, const PickleValue& value,
                         const std::string& what);

/// Elements of a list or tuple of ints. Throws FileError naming `doc`, `what` and the
/// offending element otherwise.
std::vector<int64_t> pickle_int_list(const PickleDocument& doc, const PickleValue& value,
                                     const std::string& what);

/// A numpy uint8 array read out of a pickle.
struct PickleArrayU8 {
  std::vector<int64_t> shape;  // numpy shape, C order
  std::vector<uint8_t> data;   // product(shape) bytes, row-major
};

/// Reads a numpy ndarray pickled either as `numpy.[_]core.multiarray._reconstruct` + BUILD
/// (protocols 2..4) or `numpy.[_]core.numeric._frombuffer` (protocol 5, in-band buffer).
/// Throws FileError naming `doc`, `what` and the node's offset unless it is a uint8 ('u1')
/// array in C order whose byte count matches its shape.
PickleArrayU8 pickle_uint8_array(const PickleDocument& doc, const PickleValue& value,
                                 const std::string& what);

}  // namespace cg::tools
