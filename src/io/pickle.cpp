#include "medseg/io/pickle.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "medseg/core/error.h"

namespace medseg {

namespace {

using Kind = PickleValue::Kind;

// Values one pickle may create: a real checkpoint's data.pkl holds some 10^5 (its training log
// over 1000 epochs included); the bound keeps a hostile file from taking gigabytes.
constexpr size_t kMaxPickleValues = 4'000'000;
constexpr size_t kMaxGlobalNameLength = 1024;

std::string opcode_text(unsigned char op) {
  char text[16];
  if (op >= 0x20 && op < 0x7f)
    std::snprintf(text, sizeof text, "'%c'", static_cast<char>(op));
  else
    std::snprintf(text, sizeof text, "0x%02x", op);
  return text;
}

// UTF-8 -> the code points' low bytes, for _codecs.encode(text, 'latin1') (how protocol 2
// pickles bytes). False when a code point is above 255 or the text is not UTF-8.
bool latin1_bytes(const std::string& utf8, std::string& out) {
  out.clear();
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size() &&
               (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
      const unsigned code = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3Fu);
      if (code > 0xFF || code < 0x80) return false;
      out.push_back(static_cast<char>(code));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

class PickleParser {
 public:
  PickleParser(const std::string& bytes, const std::string& where) : data_(bytes), where_(where) {}

  PickleRef run() {
    while (true) {
      if (pos_ >= data_.size()) fail("the pickle ends without its STOP opcode");
      op_start_ = pos_;
      op_ = static_cast<unsigned char>(data_[pos_++]);
      if (op_ == '.') break;
      step();
    }
    if (pos_ != data_.size())
      fail(std::to_string(data_.size() - pos_) + " bytes after the STOP opcode");
    if (!marks_.empty() || stack_.size() != 1)
      fail("the pickle stops with " + std::to_string(stack_.size()) + " values and " +
           std::to_string(marks_.size()) + " marks on its stack (one value expected)");
    return stack_.back();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_, "pickle byte " + std::to_string(op_start_) + " (opcode " +
                            opcode_text(op_) + "): " + what);
  }

  // --- reading the input -------------------------------------------------------------------
  const char* take(uint64_t n) {
    if (n > data_.size() - pos_)
      fail("needs " + std::to_string(n) + " bytes, only " + std::to_string(data_.size() - pos_) +
           " remain");
    const char* p = data_.data() + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t unsigned_le(int width) {
    const auto* p = reinterpret_cast<const unsigned char*>(take(width));
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  int64_t signed_le(uint64_t width) {
    if (width == 0) return 0;
    if (width > 8) fail("an integer of " + std::to_string(width) + " bytes (more than 64 bits)");
    const uint64_t raw = unsigned_le(static_cast<int>(width));
    if (width == 8) return static_cast<int64_t>(raw);
    const uint64_t sign = uint64_t{1} << (8 * width - 1);
    return static_cast<int64_t>((raw ^ sign) - sign);
  }
  std::string line() {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string::npos || end - pos_ > kMaxGlobalNameLength)
      fail("a name line without its end (or longer than " + std::to_string(kMaxGlobalNameLength) +
           " characters)");
    std::string text = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return text;
  }

  // --- values and the stack ----------------------------------------------------------------
  PickleRef make(Kind kind) {
    if (++created_ > kMaxPickleValues)
      fail("more than " + std::to_string(kMaxPickleValues) + " values");
    auto v = std::make_shared<PickleValue>();
    v->kind = kind;
    return v;
  }
  void push(PickleRef v) { stack_.push_back(std::move(v)); }
  PickleRef pop() {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) fail("pops from an empty stack (or across a MARK)");
    PickleRef v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleRef& top() {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() <= floor) fail("needs a value on the stack");
    return stack_.back();
  }
  // The values above the last MARK, which is removed.
  std::vector<PickleRef> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(std::make_move_iterator(stack_.begin() + mark),
                                 std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  // `child` goes inside `parent`: it can no longer change, and it must not be `parent` itself
  // (with the freezing, no value can ever contain itself).
  void adopt(PickleValue& parent, const PickleRef& child) {
    if (child.get() == &parent) fail("puts a container inside itself (recursive data)");
    child->frozen = true;
    parent.height = std::max(parent.height, child->height + 1);
    if (parent.height > kMaxPickleNesting)
      fail("nests deeper than " + std::to_string(kMaxPickleNesting) + " levels");
  }
  void check_mutable(const PickleValue& target, const char* what) {
    if (target.frozen)
      fail(std::string(what) + " a " + target.type_name() +
           " that is already inside another value (recursive data)");
  }
  PickleRef tuple_of(std::vector<PickleRef> items) {
    PickleRef t = make(Kind::kTuple);
    for (const auto& item : items) adopt(*t, item);
    t->items = std::move(items);
    return t;
  }
  void append_items(const PickleRef& target, std::vector<PickleRef> items) {
    if (target->kind != Kind::kList && target->kind != Kind::kObject)
      fail("appends to a " + target->type_name());
    check_mutable(*target, "appends to");
    for (auto& item : items) {
      adopt(*target, item);
      target->items.push_back(std::move(item));
    }
  }
  void set_items(const PickleRef& target, std::vector<PickleRef> items) {
    if (target->kind != Kind::kDict && target->kind != Kind::kObject)
      fail("sets items of a " + target->type_name());
    if (items.size() % 2 != 0) fail("an odd number of keys and values");
    check_mutable(*target, "sets items of");
    for (size_t i = 0; i < items.size(); i += 2) {
      adopt(*target, items[i]);
      adopt(*target, items[i + 1]);
      target->entries.emplace_back(std::move(items[i]), std::move(items[i + 1]));
    }
  }
  PickleRef text_value(Kind kind, uint64_t size) {
    PickleRef v = make(kind);
    v->text.assign(take(size), static_cast<size_t>(size));
    return v;
  }
  PickleRef global(const std::string& module, const std::string& name) {
    if (module.empty() || name.empty()) fail("a global without module or name");
    PickleRef g = make(Kind::kGlobal);
    g->text = module + "." + name;
    return g;
  }
  // callee(*args): the plain types rebuilt, anything else an opaque object.
  PickleRef call(const PickleRef& callee, const PickleRef& args) {
    if (callee->kind != Kind::kGlobal) fail("calls a " + callee->type_name() + ", not a global");
    if (args->kind != Kind::kTuple) fail("calls " + callee->text + " with a " + args->type_name());
    const std::string& name = callee->text;
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      PickleRef d = make(Kind::kDict);
      if (args->items.empty()) return d;
      fail("calls " + name + " with arguments (not supported)");
    }
    if (name == "_codecs.encode") {
      if (args->items.size() == 2 && args->items[0]->kind == Kind::kString &&
          args->items[1]->kind == Kind::kString &&
          (args->items[1]->text == "latin1" || args->items[1]->text == "latin-1")) {
        PickleRef b = make(Kind::kBytes);
        if (!latin1_bytes(args->items[0]->text, b->text))
          fail("_codecs.encode of text that is not latin-1");
        return b;
      }
      fail("calls _codecs.encode with other arguments than (text, 'latin1')");
    }
    PickleRef object = make(Kind::kObject);
    adopt(*object, callee);
    adopt(*object, args);
    object->callee = callee;
    object->args = args;
    return object;
  }
  PickleRef& memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
    return it->second;
  }
  void memo_put(uint64_t index) { memo_[index] = top(); }

  void step() {
    switch (op_) {
      case 0x80: {  // PROTO
        const uint64_t protocol = unsigned_le(1);
        if (protocol < 2 || protocol > 5)
          fail("pickle protocol " + std::to_string(protocol) + " (2 to 5 are read)");
        return;
      }
      case 0x95:  // FRAME: a length hint only
        take(8);
        return;
      case '(':
        marks_.push_back(stack_.size());
        return;
      case '0':
        pop();
        return;
      case '1':
        pop_mark();
        return;
      case '2':
        push(top());
        return;
      case 'N':
        push(make(Kind::kNone));
        return;
      case 0x88:
      case 0x89: {
        PickleRef v = make(Kind::kBool);
        v->boolean = op_ == 0x88;
        push(v);
        return;
      }
      case 'K':
      case 'M':
      case 'J': {
        PickleRef v = make(Kind::kInt);
        if (op_ == 'J')
          v->integer = signed_le(4);
        else
          v->integer = static_cast<int64_t>(unsigned_le(op_ == 'K' ? 1 : 2));
        push(v);
        return;
      }
      case 0x8a:
      case 0x8b: {  // LONG1, LONG4
        const uint64_t width = unsigned_le(op_ == 0x8a ? 1 : 4);
        PickleRef v = make(Kind::kInt);
        v->integer = signed_le(width);
        push(v);
        return;
      }
      case 'G': {
        const auto* p = reinterpret_cast<const unsigned char*>(take(8));
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        PickleRef v = make(Kind::kFloat);
        std::memcpy(&v->number, &bits, sizeof bits);
        push(v);
        return;
      }
      case 'X':
        push(text_value(Kind::kString, unsigned_le(4)));
        return;
      case 0x8c:
        push(text_value(Kind::kString, unsigned_le(1)));
        return;
      case 0x8d:
        push(text_value(Kind::kString, unsigned_le(8)));
        return;
      case 'T':
        push(text_value(Kind::kBytes, unsigned_le(4)));
        return;
      case 'U':
      case 'C':
        push(text_value(Kind::kBytes, unsigned_le(1)));
        return;
      case 'B':
        push(text_value(Kind::kBytes, unsigned_le(4)));
        return;
      case 0x8e:
        push(text_value(Kind::kBytes, unsigned_le(8)));
        return;
      case ')':
        push(make(Kind::kTuple));
        return;
      case ']':
        push(make(Kind::kList));
        return;
      case '}':
        push(make(Kind::kDict));
        return;
      case 'l': {
        PickleRef list = make(Kind::kList);
        append_items(list, pop_mark());
        push(list);
        return;
      }
      case 'd': {
        PickleRef dict = make(Kind::kDict);
        set_items(dict, pop_mark());
        push(dict);
        return;
      }
      case 't':
        push(tuple_of(pop_mark()));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        const size_t n = op_ - 0x84u;
        std::vector<PickleRef> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        push(tuple_of(std::move(items)));
        return;
      }
      case 'a': {
        PickleRef item = pop();
        append_items(top(), {std::move(item)});
        return;
      }
      case 'e': {
        std::vector<PickleRef> items = pop_mark();
        append_items(top(), std::move(items));
        return;
      }
      case 's': {
        PickleRef value = pop();
        PickleRef key = pop();
        set_items(top(), {std::move(key), std::move(value)});
        return;
      }
      case 'u': {
        std::vector<PickleRef> items = pop_mark();
        set_items(top(), std::move(items));
        return;
      }
      case 'c': {
        const std::string module = line();
        const std::string name = line();
        push(global(module, name));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleRef name = pop();
        PickleRef module = pop();
        if (module->kind != Kind::kString || name->kind != Kind::kString)
          fail("STACK_GLOBAL needs two strings");
        push(global(module->text, name->text));
        return;
      }
      case 'R':
      case 0x81: {  // REDUCE, NEWOBJ
        PickleRef args = pop();
        PickleRef callee = pop();
        push(call(callee, args));
        return;
      }
      case 'b': {  // BUILD
        PickleRef state = pop();
        PickleRef& target = top();
        if (target->kind != Kind::kObject && target->kind != Kind::kDict)
          fail("BUILD on a " + target->type_name());
        check_mutable(*target, "BUILD on");
        if (target->state) fail("BUILD twice on one " + target->type_name());
        adopt(*target, state);
        target->state = std::move(state);
        return;
      }
      case 'Q': {  // BINPERSID
        PickleRef id = pop();
        PickleRef v = make(Kind::kPersistentId);
        adopt(*v, id);
        v->args = std::move(id);
        push(v);
        return;
      }
      case 'q':
        memo_put(unsigned_le(1));
        return;
      case 'r':
        memo_put(unsigned_le(4));
        return;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        return;
      case 'h':
        push(memo_get(unsigned_le(1)));
        return;
      case 'j':
        push(memo_get(unsigned_le(4)));
        return;
      default:
        fail("an opcode this reader does not take (protocols 2 to 5 of plain data only)");
    }
  }

  const std::string& data_;
  const std::string& where_;
  size_t pos_ = 0, op_start_ = 0;
  unsigned char op_ = 0;
  size_t created_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleRef> memo_;
};

}  // namespace

const PickleValue* PickleValue::find(const std::string& key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : entries)
    if (k->kind == Kind::kString && k->text == key) return v.get();
  return nullptr;
}

std::string PickleValue::global_name() const {
  if (kind == Kind::kGlobal) return text;
  if (kind == Kind::kObject && callee) return callee->text;
  return "";
}

std::string PickleValue::type_name() const {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global " + text;
    case Kind::kObject:
      return "object " + global_name();
    case Kind::kPersistentId:
      return "persistent id";
  }
  return "value";
}

std::optional<int64_t> pickle_integer(const PickleValue& value) {
  if (value.kind == Kind::kInt) return value.integer;
  const std::string name = value.global_name();
  if (value.kind != Kind::kObject ||
      (name != "numpy._core.multiarray.scalar" && name != "numpy.core.multiarray.scalar"))
    return std::nullopt;
  const auto& args = value.args->items;
  if (args.size() != 2 || args[1]->kind != Kind::kBytes) return std::nullopt;
  // numpy.dtype(code, False, True) with BUILD state (3, byte order, ...).
  const PickleValue& dtype = *args[0];
  if (dtype.kind != Kind::kObject || dtype.global_name() != "numpy.dtype" ||
      dtype.args->items.empty() || dtype.args->items[0]->kind != Kind::kString || !dtype.state ||
      dtype.state->kind != Kind::kTuple || dtype.state->items.size() < 2 ||
      dtype.state->items[1]->kind != Kind::kString)
    return std::nullopt;
  const std::string& code = dtype.args->items[0]->text;
  const std::string& order = dtype.state->items[1]->text;
  if (code.size() != 2 || (code[0] != 'i' && code[0] != 'u') ||
      std::string("1248").find(code[1]) == std::string::npos)
    return std::nullopt;
  const size_t width = static_cast<size_t>(code[1] - '0');
  const std::string& bytes = args[1]->text;
  if (bytes.size() != width || (order != "<" && !(order == "|" && width == 1))) return std::nullopt;
  uint64_t bits = 0;
  for (size_t i = 0; i < width; ++i)
    bits |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (code[0] == 'u') {
    if (bits > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(bits);
  }
  const unsigned shift = static_cast<unsigned>(64 - 8 * width);  // sign-extend
  return static_cast<int64_t>(bits << shift) >> shift;
}

PickleRef parse_pickle(const std::string& bytes, const std::string& where) {
  return PickleParser(bytes, where).run();
}

}  // namespace medseg
