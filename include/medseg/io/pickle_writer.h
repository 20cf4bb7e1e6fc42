// A writer of Python pickles, protocol 2 (what torch.save emits by default), for the values of
// io/pickle.h: what `medseg export-model --format nnunet` puts into a checkpoint_*.pth. Only
// plain data and calls of named globals (REDUCE), with BINPERSID for torch.save's storage
// records; no memo (every value is written where it occurs). io/pickle.h reads it back.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "medseg/io/pickle.h"

namespace medseg {

using PickleItems = std::vector<std::pair<std::string, PickleRef>>;  // string-keyed entries

PickleRef pickle_none();
PickleRef pickle_bool(bool value);
PickleRef pickle_int(int64_t value);
PickleRef pickle_float(double value);
PickleRef pickle_string(std::string utf8);
PickleRef pickle_tuple(std::vector<PickleRef> items);
PickleRef pickle_list(std::vector<PickleRef> items);
PickleRef pickle_dict(PickleItems entries);
// collections.OrderedDict() with `entries` set in order (how a state_dict is pickled).
PickleRef pickle_ordered_dict(PickleItems entries);
// The global "module.name" (the name after the last dot), as a value (a class torch.load takes).
PickleRef pickle_global(const std::string& qualified);
// The global "module.name" called with `args`.
PickleRef pickle_call(const std::string& global, std::vector<PickleRef> args);
// BINPERSID of `id` (torch.save: ('storage', torch.<T>Storage, key, location, numel)).
PickleRef pickle_persistent_id(PickleRef id);
// A JSON document as Python's json.load gives it: dict, list, str, int, float, bool, None.
PickleRef pickle_from_json(const nlohmann::json& value);

// The bytes of `root` as a protocol 2 pickle. Error naming `where` for a value it cannot write:
// a call of something that is not a global, a global without module, a dict key that is a
// container, nesting deeper than kMaxPickleNesting.
std::string write_pickle(const PickleValue& root, const std::string& where);

}  // namespace medseg
