#pragma once
// A minimal, safe reader of Python pickles: enough of protocols 0..5 for the CIFAR-10
// "python version" batches (Python 2 cPickle, protocol 2) and for the same files re-saved by
// Python 3 with numpy (protocols 2..5). Nothing is executed: a GLOBAL is only recorded as
// its name, REDUCE/NEWOBJ give an object node carrying the callable and its arguments, and
// BUILD attaches its state to that node. pickle_values.h reads the few shapes CIFAR needs
// out of the resulting value graph (dict lookups, byte strings, lists of ints, uint8 numpy
// arrays).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace cg::tools {

/// What a PickleValue holds.
enum class PickleKind {
  kNone,
  kBool,
  kInt,  // fits in int64; larger integers are rejected
  kFloat,
  kBytes,  // Python 3 bytes/bytearray, Python 2 str
  kStr,    // Python 3 str / Python 2 unicode, stored as UTF-8
  kTuple,
  kList,
  kDict,    // key/value pairs in insertion order
  kGlobal,  // a GLOBAL/STACK_GLOBAL name, never resolved
  kObject,  // the result of REDUCE or NEWOBJ, plus the BUILD state if any
};

/// Name of a kind for messages ("bytes", "dict", ...).
const char* pickle_kind_name(PickleKind kind);

/// One node of an unpickled value graph, owned by its PickleDocument. The graph may share
/// nodes (memo GETs) and may even hold cycles, as Python allows; code walking it must not
/// recurse without a bound.
struct PickleValue {
  PickleKind kind = PickleKind::kNone;
  size_t offset = 0;                      // byte offset of the opcode that made this node
  bool boolean = false;                   // kBool
  int64_t integer = 0;                    // kInt
  double real = 0;                        // kFloat
  std::string text;                       // kBytes: the bytes; kStr: UTF-8; kGlobal: the module
  std::string name;                       // kGlobal: the qualified name inside the module
  std::vector<const PickleValue*> items;  // kTuple, kList; kDict: key0, value0, key1, ...
  const PickleValue* callable = nullptr;  // kObject: what REDUCE/NEWOBJ would have called
  const PickleValue* args = nullptr;      // kObject: its argument tuple
  const PickleValue* state = nullptr;     // kObject: the BUILD state, or nullptr
  int depth = 1;  // container nesting as the stream built it (1 for scalars), <= kMaxDepth

  /// True for a kGlobal named `module_name`.`global_name`.
  bool is_global(const char* module_name, const char* global_name) const;
};

/// A parsed pickle: the value graph and the name used in error messages. Move-only; node
/// addresses stay valid across moves.
class PickleDocument {
 public:
  /// Parses one pickle from `data` (STOP must be reached; trailing bytes are ignored, as
  /// Python does). `name` (usually the file path) prefixes every error. Throws FileError
  /// naming `name` and the byte offset on a truncated stream, an unknown or unsupported
  /// opcode (protocol-0 STRING/UNICODE, PERSID, EXT*, sets, INST/OBJ, NEWOBJ_EX, out-of-band
  /// buffers), a stack or mark underflow, a memo miss, a length beyond the remaining bytes,
  /// an integer beyond int64, invalid UTF-8 in a str, nesting deeper than kMaxDepth, or
  /// more than kMaxValues values. Memory use is linear in `size` and bounded: at most one
  /// node (~150 bytes) per opcode and kMaxValues in all, and no length is trusted before
  /// the bytes it announces are known to be there.
  static PickleDocument parse(const uint8_t* data, size_t size, const std::string& name);

  PickleDocument(PickleDocument&&) = default;
  PickleDocument& operator=(PickleDocument&&) = default;
  PickleDocument(const PickleDocument&) = delete;
  PickleDocument& operator=(const PickleDocument&) = delete;

  /// The value the STOP opcode returned.
  const PickleValue& root() const { return *root_; }
  /// The name given to parse().
  const std::string& name() const { return name_; }

  /// Deepest container nesting and open MARKs accepted.
  static constexpr int kMaxDepth = 256;
  /// Most values (nodes) one pickle may create; a CIFAR-10 batch makes about 20 000.
  static constexpr size_t kMaxValues = size_t{1} << 20;

 private:
  PickleDocument() = default;
  friend class PickleParser;

  std::string name_;
  std::deque<PickleValue> nodes_;
  const PickleValue* root_ = nullptr;
};

/// Text helpers shared by pickle.cpp and pickle_values.cpp; not for other callers.
namespace pickle_internal {

/// At most `n` characters of `s` for a message, non-printable ones as '?', "..." appended
/// when cut. Never throws except std::bad_alloc.
std::string shorten(const std::string& s, size_t n);

/// Decodes one UTF-8 sequence at s[i] (i < s.size()) into `cp`, advancing `i`; false, with
/// `i` unchanged, for an invalid, overlong or truncated sequence or a value past U+10FFFF.
/// Surrogates pass, as pickle writes str with "surrogatepass". Never throws.
bool next_code_point(const std::string& s, size_t& i, uint32_t& cp);

}  // namespace pickle_internal

}  // namespace cg::tools
