#include "pickle.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "common/error.h"

namespace cg::tools {
namespace {

// Opcodes of pickle protocols 0..5 that CIFAR batches use (names as in CPython's pickle.py).
// clang-format off
enum Opcode : uint8_t {
  kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2', kFloat = 'F', kInt = 'I',
  kBinInt = 'J', kBinInt1 = 'K', kLong = 'L', kBinInt2 = 'M', kNone = 'N', kReduce = 'R',
  kBinString = 'T', kShortBinString = 'U', kBinUnicode = 'X', kAppend = 'a', kBuild = 'b',
  kGlobal = 'c', kDict = 'd', kEmptyDict = '}', kAppends = 'e', kGet = 'g', kBinGet = 'h',
  kLongBinGet = 'j', kList = 'l', kEmptyList = ']', kPut = 'p', kBinPut = 'q',
  kLongBinPut = 'r', kSetItem = 's', kTuple = 't', kEmptyTuple = ')', kSetItems = 'u',
  kBinFloat = 'G',
  // protocol 2
  kProto = 0x80, kNewObj = 0x81, kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87,
  kNewTrue = 0x88, kNewFalse = 0x89, kLong1 = 0x8a, kLong4 = 0x8b,
  // protocol 3
  kBinBytes = 'B', kShortBinBytes = 'C',
  // protocol 4
  kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d, kBinBytes8 = 0x8e, kStackGlobal = 0x93,
  kMemoize = 0x94, kFrame = 0x95,
  // protocol 5
  kByteArray8 = 0x96,
};
// clang-format on

constexpr int kHighestProtocol = 5;

using pickle_internal::next_code_point;
using pickle_internal::shorten;

}  // namespace

// Runs the pickle virtual machine over the input without executing anything. Stack items
// are nodes of the document's arena; marks are stack positions, and as in CPython's
// unpickler nothing below the innermost mark can be popped until the mark is consumed.
class PickleParser {
 public:
  PickleParser(const uint8_t* data, size_t size, PickleDocument& doc)
      : data_(data), size_(size), doc_(doc) {}

  void run() {
    while (pos_ < size_) {
      op_offset_ = pos_;
      op_ = data_[pos_++];
      if (op_ == kStop) {
        doc_.root_ = pop();
        return;
      }
      step();
    }
    op_offset_ = pos_;
    op_ = 0;
    fail("truncated: the stream ends before the STOP opcode");
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    static const char* kHex = "0123456789abcdef";
    std::string op = "end of input";
    if (op_offset_ < size_) {
      op = std::string("opcode 0x") + kHex[op_ >> 4] + kHex[op_ & 15];
      if (op_ >= 0x20 && op_ < 0x7f) op += std::string(" '") + static_cast<char>(op_) + "'";
    }
    throw FileError(detail::str_cat(doc_.name_, ": malformed pickle at byte ", op_offset_, " (", op,
                                    "): ", problem));
  }

  size_t left() const { return size_ - pos_; }

  const uint8_t* take(uint64_t n) {
    if (n > left()) {
      fail(detail::str_cat("truncated: needs ", n, " bytes, only ", left(), " left"));
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

  uint64_t read_le(int n) {
    const uint8_t* p = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
    return v;
  }

  std::string read_bytes(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }

  std::string read_line() {
    const void* nl = std::memchr(data_ + pos_, '\n', left());
    if (nl == nullptr) fail("truncated: no end of line after a text argument");
    size_t n = static_cast<size_t>(static_cast<const uint8_t*>(nl) - (data_ + pos_));
    std::string line = read_bytes(n);
    ++pos_;
    return line;
  }

  PickleValue* make(PickleKind kind) {
    if (doc_.nodes_.size() >= PickleDocument::kMaxValues) {
      fail(detail::str_cat("more than ", PickleDocument::kMaxValues, " values"));
    }
    PickleValue& v = doc_.nodes_.emplace_back();
    v.kind = kind;
    v.offset = op_offset_;
    return &v;
  }

  size_t available() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }

  void push(PickleValue* v) { stack_.push_back(v); }

  PickleValue* top() {
    if (available() == 0) fail("stack underflow");
    return stack_.back();
  }

  PickleValue* pop() {
    PickleValue* v = top();
    stack_.pop_back();
    return v;
  }

  std::vector<const PickleValue*> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<const PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark),
                                          stack_.end());
    stack_.resize(mark);
    return items;
  }

  void raise_depth(PickleValue* v, int child_depth) {
    if (child_depth >= PickleDocument::kMaxDepth) {
      fail(detail::str_cat("nesting deeper than ", PickleDocument::kMaxDepth, " levels"));
    }
    v->depth = std::max(v->depth, child_depth + 1);
  }

  PickleValue* make_sequence(PickleKind kind, std::vector<const PickleValue*> items) {
    PickleValue* v = make(kind);
    for (const PickleValue* item : items) raise_depth(v, item->depth);
    v->items = std::move(items);
    return v;
  }

  PickleValue* pop_tuple(size_t n) {
    if (available() < n) fail("stack underflow");
    std::vector<const PickleValue*> items(stack_.end() - static_cast<std::ptrdiff_t>(n),
                                          stack_.end());
    stack_.resize(stack_.size() - n);
    return make_sequence(PickleKind::kTuple, std::move(items));
  }

  PickleValue* top_of_kind(PickleKind kind, const char* op_name) {
    PickleValue* target = top();
    if (target->kind != kind) {
      fail(detail::str_cat(op_name, " needs a ", pickle_kind_name(kind), " below it, found a ",
                           pickle_kind_name(target->kind)));
    }
    return target;
  }

  void add_items(PickleValue* container, const std::vector<const PickleValue*>& items) {
    for (const PickleValue* item : items) raise_depth(container, item->depth);
    container->items.insert(container->items.end(), items.begin(), items.end());
  }

  void push_int(int64_t value) {
    PickleValue* v = make(PickleKind::kInt);
    v->integer = value;
    push(v);
  }

  void push_bool(bool value) {
    PickleValue* v = make(PickleKind::kBool);
    v->boolean = value;
    push(v);
  }

  void push_float(double value) {
    PickleValue* v = make(PickleKind::kFloat);
    v->real = value;
    push(v);
  }

  // Reads `n` bytes of text; a str must be valid UTF-8.
  void push_text(PickleKind kind, uint64_t n) {
    std::string text = read_bytes(length(n));
    if (kind == PickleKind::kStr) {
      uint32_t cp = 0;
      for (size_t i = 0; i < text.size();) {
        if (!next_code_point(text, i, cp)) fail(detail::str_cat("invalid UTF-8 at text byte ", i));
      }
    }
    PickleValue* v = make(kind);
    v->text = std::move(text);
    push(v);
  }

  void push_long(uint64_t n) {
    length(n);
    push_int(parse_long_bytes(take(n), static_cast<size_t>(n)));
  }

  // A 4-byte length that pickle stores signed (BINSTRING, LONG4).
  uint64_t signed_length(uint64_t raw, const char* op_name) {
    if (static_cast<int32_t>(static_cast<uint32_t>(raw)) < 0) {
      fail(detail::str_cat("negative ", op_name, " length"));
    }
    return raw;
  }

  std::vector<const PickleValue*> pop_pairs(const char* op_name) {
    auto items = pop_mark();
    if (items.size() % 2 != 0) fail(detail::str_cat(op_name, " needs key/value pairs"));
    return items;
  }

  uint64_t memo_index(const std::string& line) {
    int64_t index = parse_decimal(line);
    if (index < 0) fail("negative memo index");
    return static_cast<uint64_t>(index);
  }

  uint64_t length(uint64_t n) {
    if (n > left()) {
      fail(detail::str_cat("length ", n, " exceeds the ", left(), " bytes left"));
    }
    return n;
  }

  int64_t parse_decimal(const std::string& line) {
    size_t i = line.empty() || (line[0] != '-' && line[0] != '+') ? 0 : 1;
    bool negative = i == 1 && line[0] == '-';
    if (i == line.size()) fail("empty integer");
    uint64_t magnitude = 0;
    const uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
    for (; i < line.size(); ++i) {
      if (line[i] < '0' || line[i] > '9') fail("not an integer: '" + shorten(line, 40) + "'");
      uint64_t digit = static_cast<uint64_t>(line[i] - '0');
      if (magnitude > (limit - digit) / 10) fail("integer does not fit in 64 bits");
      magnitude = magnitude * 10 + digit;
    }
    if (!negative) return static_cast<int64_t>(magnitude);
    return magnitude == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(magnitude);
  }

  // Little-endian two's complement of any length, as LONG1/LONG4 store it.
  int64_t parse_long_bytes(const uint8_t* p, size_t n) {
    if (n == 0) return 0;
    uint8_t sign = (p[n - 1] & 0x80) ? 0xFF : 0x00;
    size_t used = std::min<size_t>(n, 8);
    for (size_t k = used; k < n; ++k) {
      if (p[k] != sign) fail("integer does not fit in 64 bits");
    }
    uint64_t v = 0;
    for (size_t k = used; k-- > 0;) v = (v << 8) | p[k];
    if (used < 8 && sign != 0) v |= ~uint64_t{0} << (8 * used);
    if (n > 8 && ((v >> 63) != 0) != (sign != 0)) fail("integer does not fit in 64 bits");
    int64_t out = 0;
    std::memcpy(&out, &v, sizeof out);
    return out;
  }

  void memo_put(uint64_t index) { memo_[index] = top(); }

  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail(detail::str_cat("memo has no entry ", index));
    push(it->second);
  }

  void push_global(std::string module, std::string name) {
    PickleValue* v = make(PickleKind::kGlobal);
    v->text = std::move(module);
    v->name = std::move(name);
    push(v);
  }

  void push_object(const PickleValue* callable, const PickleValue* args) {
    if (args->kind != PickleKind::kTuple) {
      fail(detail::str_cat("needs an argument tuple, found a ", pickle_kind_name(args->kind)));
    }
    PickleValue* v = make(PickleKind::kObject);
    raise_depth(v, callable->depth);
    raise_depth(v, args->depth);
    v->callable = callable;
    v->args = args;
    push(v);
  }

  // One opcode (already read into op_) and its arguments. Short cases stay one line each so
  // the dispatch reads as a table.
  // clang-format off
  void step() {
    switch (op_) {
      case kProto: {
        uint64_t protocol = read_le(1);
        if (protocol > kHighestProtocol) fail(detail::str_cat("unsupported protocol ", protocol));
        break;
      }
      case kFrame: length(read_le(8)); break;
      case kMark:
        if (marks_.size() >= static_cast<size_t>(PickleDocument::kMaxDepth)) {
          fail(detail::str_cat("more than ", PickleDocument::kMaxDepth, " open MARKs"));
        }
        marks_.push_back(stack_.size());
        break;
      case kPop: available() > 0 ? stack_.pop_back() : static_cast<void>(pop_mark()); break;
      case kPopMark: pop_mark(); break;
      case kDup: push(top()); break;

      case kNone: push(make(PickleKind::kNone)); break;
      case kNewTrue: push_bool(true); break;
      case kNewFalse: push_bool(false); break;
      case kInt: {  // protocol 0 writes True/False as INT 01/00
        std::string line = read_line();
        line == "00" || line == "01" ? push_bool(line == "01") : push_int(parse_decimal(line));
        break;
      }
      case kLong: {
        std::string line = read_line();
        if (!line.empty() && line.back() == 'L') line.pop_back();
        push_int(parse_decimal(line));
        break;
      }
      case kBinInt: push_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4)))); break;
      case kBinInt1: push_int(static_cast<int64_t>(read_le(1))); break;
      case kBinInt2: push_int(static_cast<int64_t>(read_le(2))); break;
      case kLong1: push_long(read_le(1)); break;
      case kLong4: push_long(signed_length(read_le(4), "LONG4")); break;
      case kFloat: {
        std::string line = read_line();
        char* end = nullptr;
        double value = std::strtod(line.c_str(), &end);
        if (line.empty() || end != line.c_str() + line.size()) {
          fail("not a float: '" + shorten(line, 40) + "'");
        }
        push_float(value);
        break;
      }
      case kBinFloat: {
        uint64_t bits = 0;
        const uint8_t* p = take(8);
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];  // big-endian
        double value = 0;
        std::memcpy(&value, &bits, sizeof bits);
        push_float(value);
        break;
      }

      case kBinString: push_text(PickleKind::kBytes, signed_length(read_le(4), "BINSTRING")); break;
      case kShortBinString:
      case kShortBinBytes: push_text(PickleKind::kBytes, read_le(1)); break;
      case kBinBytes: push_text(PickleKind::kBytes, read_le(4)); break;
      case kBinBytes8:
      case kByteArray8: push_text(PickleKind::kBytes, read_le(8)); break;
      case kShortBinUnicode: push_text(PickleKind::kStr, read_le(1)); break;
      case kBinUnicode: push_text(PickleKind::kStr, read_le(4)); break;
      case kBinUnicode8: push_text(PickleKind::kStr, read_le(8)); break;

      case kEmptyTuple: push(make(PickleKind::kTuple)); break;
      case kTuple1: push(pop_tuple(1)); break;
      case kTuple2: push(pop_tuple(2)); break;
      case kTuple3: push(pop_tuple(3)); break;
      case kTuple: push(make_sequence(PickleKind::kTuple, pop_mark())); break;
      case kEmptyList: push(make(PickleKind::kList)); break;
      case kList: push(make_sequence(PickleKind::kList, pop_mark())); break;
      case kEmptyDict: push(make(PickleKind::kDict)); break;
      case kDict: push(make_sequence(PickleKind::kDict, pop_pairs("DICT"))); break;
      case kAppend: {
        PickleValue* item = pop();
        add_items(top_of_kind(PickleKind::kList, "APPEND"), {item});
        break;
      }
      case kAppends: {
        auto items = pop_mark();
        add_items(top_of_kind(PickleKind::kList, "APPENDS"), items);
        break;
      }
      case kSetItem: {
        PickleValue* value = pop();
        PickleValue* key = pop();
        add_items(top_of_kind(PickleKind::kDict, "SETITEM"), {key, value});
        break;
      }
      case kSetItems: {
        auto items = pop_pairs("SETITEMS");
        add_items(top_of_kind(PickleKind::kDict, "SETITEMS"), items);
        break;
      }

      case kPut: memo_put(memo_index(read_line())); break;
      case kBinPut: memo_put(read_le(1)); break;
      case kLongBinPut: memo_put(read_le(4)); break;
      case kMemoize: memo_put(memo_.size()); break;
      case kGet: memo_get(memo_index(read_line())); break;
      case kBinGet: memo_get(read_le(1)); break;
      case kLongBinGet: memo_get(read_le(4)); break;

      case kGlobal: {
        std::string module = read_line();
        push_global(std::move(module), read_line());
        break;
      }
      case kStackGlobal: {
        PickleValue* name = pop();
        PickleValue* module = pop();
        if (name->kind != PickleKind::kStr || module->kind != PickleKind::kStr) {
          fail("STACK_GLOBAL needs two str");
        }
        push_global(module->text, name->text);
        break;
      }
      case kReduce:
      case kNewObj: {  // REDUCE: callable, args; NEWOBJ: cls, args
        PickleValue* args = pop();
        push_object(pop(), args);
        break;
      }
      case kBuild: {
        PickleValue* state = pop();
        PickleValue* target = top_of_kind(PickleKind::kObject, "BUILD");
        if (target->state != nullptr) fail("a second BUILD on the same object");
        raise_depth(target, state->depth);
        target->state = state;
        break;
      }

      default:
        fail("unknown or unsupported opcode (protocol-0 strings, persistent ids, extension "
             "codes, sets and out-of-band buffers are not supported)");
    }
  }
  // clang-format on

  const uint8_t* data_;
  size_t size_;
  PickleDocument& doc_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  uint8_t op_ = 0;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
};

const char* pickle_kind_name(PickleKind kind) {
  static const char* const kNames[] = {"None",  "bool", "int",  "float",  "bytes", "str",
                                       "tuple", "list", "dict", "global", "object"};
  return kNames[static_cast<int>(kind)];
}

bool PickleValue::is_global(const char* module_name, const char* global_name) const {
  return kind == PickleKind::kGlobal && text == module_name && name == global_name;
}

PickleDocument PickleDocument::parse(const uint8_t* data, size_t size, const std::string& name) {
  PickleDocument doc;
  doc.name_ = name;
  PickleParser(data, size, doc).run();
  return doc;
}

namespace pickle_internal {

std::string shorten(const std::string& s, size_t n) {
  std::string out;
  for (char c : s.substr(0, n)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > n ? out + "..." : out;
}

bool next_code_point(const std::string& s, size_t& i, uint32_t& cp) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  size_t extra = 0;
  uint32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return false;
  }
  if (extra > s.size() - i - 1) return false;
  for (size_t k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF) return false;
  i += extra + 1;
  return true;
}

}  // namespace pickle_internal

}  // namespace cg::tools
