// A strict reader of Python pickles (protocols 2 to 4: the opcodes torch.save and pickle.dump of
// plain data emit), for the files of the reference nnU-Net: the data.pkl of a checkpoint_*.pth and
// postprocessing.pkl. Nothing is executed: a global (a class or function named in the pickle) is
// kept as its name, and calling it (REDUCE, NEWOBJ) gives an opaque value holding the name, its
// arguments and any BUILD state, except for the few plain types rebuilt here (OrderedDict, bytes
// via _codecs.encode). The input is untrusted: every size read from it is bounded by the bytes
// that remain, nesting is limited, containers cannot be changed once inside another (so no
// cycles), and every error names the file, the byte offset and the opcode.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medseg {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;

struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,        // text: UTF-8
    kBytes,         // text: the bytes
    kTuple,         // items
    kList,          // items
    kDict,          // entries (insertion order); OrderedDict too
    kGlobal,        // text: "module.name"
    kObject,        // a global called: callee (kGlobal), args (kTuple), state (BUILD), items
    kPersistentId,  // args: the persistent id (torch.save: a tuple naming a storage record)
  };

  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string text;
  std::vector<PickleRef> items;
  std::vector<std::pair<PickleRef, PickleRef>> entries;
  PickleRef callee, args, state;

  // Nesting height (0 for a scalar) and whether the value sits inside another container:
  // the reader's bounds.
  int height = 0;
  bool frozen = false;

  // The entry of a dict under a string key, or nullptr (also for values that are no dict).
  const PickleValue* find(const std::string& key) const;
  // The global's name of a kObject / kGlobal ("" otherwise).
  std::string global_name() const;
  bool is_sequence() const { return kind == Kind::kTuple || kind == Kind::kList; }
  // "int", "dict", "object numpy.dtype", ...: for error messages.
  std::string type_name() const;
};

// Parses `bytes` (one pickle, up to its STOP opcode; bytes after it are an error). `where` names
// the file in errors.
PickleRef parse_pickle(const std::string& bytes, const std::string& where);

// The integer `value` holds: a Python int, or a numpy integer scalar as pickle stores one
// (numpy[._core|.core].multiarray.scalar(dtype('i1'..'i8', 'u1'..'u8'), <its bytes>), little-endian
// or one byte); nullopt for anything else (a uint64 above INT64_MAX included).
std::optional<int64_t> pickle_integer(const PickleValue& value);

// Deepest nesting of containers a pickle may have (the checkpoint's plans nest about 8 deep).
inline constexpr int kMaxPickleNesting = 100;

}  // namespace medseg
