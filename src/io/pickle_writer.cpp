#include "medseg/io/pickle_writer.h"

#include <cstring>

#include "medseg/core/error.h"

namespace medseg {

namespace {

using Kind = PickleValue::Kind;

PickleRef pickle_value_of(Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

// Latin-1 bytes as the UTF-8 text Python's str(bytes, 'latin1') gives (protocol 2's bytes).
std::string pickle_latin1_text(const std::string& bytes) {
  std::string text;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      text.push_back(static_cast<char>(c));
    } else {
      text.push_back(static_cast<char>(0xC0 | (c >> 6)));
      text.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return text;
}

class PickleEmitter {
 public:
  explicit PickleEmitter(const std::string& where) : where_(where) {}

  std::string run(const PickleValue& root) {
    out_ = "\x80\x02";
    value(root, 0);
    out_.push_back('.');
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_, "cannot write the pickle: " + what);
  }
  void op(char code) { out_.push_back(code); }
  void le(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {  // LONG1: the shortest little-endian two's complement
      int width = 8;
      while (width > 1) {
        const int64_t shifted = v >> (8 * (width - 1) - 1);
        if (shifted != 0 && shifted != -1) break;
        --width;
      }
      op('\x8a');
      le(static_cast<uint64_t>(width), 1);
      le(static_cast<uint64_t>(v), width);
    }
  }
  void string(const std::string& utf8) {
    if (utf8.size() > UINT32_MAX) fail("a string of more than 4 GiB");
    op('X');
    le(utf8.size(), 4);
    out_ += utf8;
  }
  void global(const std::string& qualified) {
    const size_t dot = qualified.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == qualified.size() ||
        qualified.find('\n') != std::string::npos)
      fail("'" + qualified + "' is not a global of the form module.name");
    op('c');
    out_ += qualified.substr(0, dot) + "\n" + qualified.substr(dot + 1) + "\n";
  }
  void items(const std::vector<PickleRef>& list, int depth) {
    if (list.empty()) return;
    op('(');
    for (const auto& item : list) value(*item, depth + 1);
    op('e');
  }
  void entries(const std::vector<std::pair<PickleRef, PickleRef>>& dict, int depth) {
    if (dict.empty()) return;
    op('(');
    for (const auto& [key, val] : dict) {
      if (key->kind == Kind::kList || key->kind == Kind::kDict)
        fail("a dict key that is a " + key->type_name());
      value(*key, depth + 1);
      value(*val, depth + 1);
    }
    op('u');
  }
  void value(const PickleValue& v, int depth) {
    if (depth > kMaxPickleNesting)
      fail("values nest deeper than " + std::to_string(kMaxPickleNesting) + " levels");
    switch (v.kind) {
      case Kind::kNone:
        op('N');
        return;
      case Kind::kBool:
        op(v.boolean ? '\x88' : '\x89');
        return;
      case Kind::kInt:
        integer(v.integer);
        return;
      case Kind::kFloat: {
        uint64_t bits = 0;
        std::memcpy(&bits, &v.number, sizeof bits);
        op('G');
        for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
        return;
      }
      case Kind::kString:
        string(v.text);
        return;
      case Kind::kBytes:  // protocol 2: _codecs.encode(text, 'latin1')
        global("_codecs.encode");
        string(pickle_latin1_text(v.text));
        string("latin1");
        op('\x86');
        op('R');
        return;
      case Kind::kTuple:
        if (v.items.empty()) {
          op(')');
        } else if (v.items.size() <= 3) {
          for (const auto& item : v.items) value(*item, depth + 1);
          op(static_cast<char>(0x84 + v.items.size()));
        } else {
          op('(');
          for (const auto& item : v.items) value(*item, depth + 1);
          op('t');
        }
        return;
      case Kind::kList:
        op(']');
        items(v.items, depth);
        return;
      case Kind::kDict:
        op('}');
        entries(v.entries, depth);
        return;
      case Kind::kGlobal:
        global(v.text);
        return;
      case Kind::kObject:
        if (!v.callee || v.callee->kind != Kind::kGlobal)
          fail("a call of something that is not a global");
        if (!v.args || v.args->kind != Kind::kTuple)
          fail("a call of " + v.callee->text + " without an argument tuple");
        global(v.callee->text);
        value(*v.args, depth + 1);
        op('R');
        items(v.items, depth);
        entries(v.entries, depth);
        if (v.state) {
          value(*v.state, depth + 1);
          op('b');
        }
        return;
      case Kind::kPersistentId:
        if (!v.args) fail("a persistent id without its value");
        value(*v.args, depth + 1);
        op('Q');
        return;
    }
    fail("a value of unknown kind");
  }

  const std::string& where_;
  std::string out_;
};

}  // namespace

PickleRef pickle_none() {
  return pickle_value_of(Kind::kNone);
}

PickleRef pickle_bool(bool value) {
  PickleRef v = pickle_value_of(Kind::kBool);
  v->boolean = value;
  return v;
}

PickleRef pickle_int(int64_t value) {
  PickleRef v = pickle_value_of(Kind::kInt);
  v->integer = value;
  return v;
}

PickleRef pickle_float(double value) {
  PickleRef v = pickle_value_of(Kind::kFloat);
  v->number = value;
  return v;
}

PickleRef pickle_string(std::string utf8) {
  PickleRef v = pickle_value_of(Kind::kString);
  v->text = std::move(utf8);
  return v;
}

PickleRef pickle_tuple(std::vector<PickleRef> items) {
  PickleRef v = pickle_value_of(Kind::kTuple);
  v->items = std::move(items);
  return v;
}

PickleRef pickle_list(std::vector<PickleRef> items) {
  PickleRef v = pickle_value_of(Kind::kList);
  v->items = std::move(items);
  return v;
}

PickleRef pickle_dict(PickleItems entries) {
  PickleRef v = pickle_value_of(Kind::kDict);
  for (auto& [key, value] : entries) v->entries.emplace_back(pickle_string(key), std::move(value));
  return v;
}

PickleRef pickle_ordered_dict(PickleItems entries) {
  PickleRef v = pickle_call("collections.OrderedDict", {});
  for (auto& [key, value] : entries) v->entries.emplace_back(pickle_string(key), std::move(value));
  return v;
}

PickleRef pickle_call(const std::string& global, std::vector<PickleRef> args) {
  PickleRef v = pickle_value_of(Kind::kObject);
  v->callee = pickle_global(global);
  v->args = pickle_tuple(std::move(args));
  return v;
}

PickleRef pickle_global(const std::string& qualified) {
  PickleRef g = pickle_value_of(Kind::kGlobal);
  g->text = qualified;
  return g;
}

PickleRef pickle_persistent_id(PickleRef id) {
  PickleRef v = pickle_value_of(Kind::kPersistentId);
  v->args = std::move(id);
  return v;
}

PickleRef pickle_from_json(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return pickle_none();
    case nlohmann::json::value_t::boolean:
      return pickle_bool(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return pickle_int(value.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      if (value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        return pickle_float(value.get<double>());
      return pickle_int(value.get<int64_t>());
    case nlohmann::json::value_t::number_float:
      return pickle_float(value.get<double>());
    case nlohmann::json::value_t::string:
      return pickle_string(value.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<PickleRef> items;
      for (const auto& item : value) items.push_back(pickle_from_json(item));
      return pickle_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      PickleItems entries;
      for (const auto& [key, item] : value.items())
        entries.emplace_back(key, pickle_from_json(item));
      return pickle_dict(std::move(entries));
    }
    default:
      return pickle_none();  // binary and discarded values do not come out of a JSON file
  }
}

std::string write_pickle(const PickleValue& root, const std::string& where) {
  return PickleEmitter(where).run(root);
}

}  // namespace medseg
