#include "medseg/io/torch_archive.h"

#include <torch/torch.h>

#include <cstring>
#include <limits>

#include "medseg/core/error.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

using Kind = PickleValue::Kind;
constexpr int64_t kMaxTensorDims = 16;

// torch.<Name>Storage -> the element type (the typed storages torch.save names).
bool storage_dtype(const std::string& global, at::ScalarType& dtype) {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  const auto it = types.find(global);
  if (it == types.end()) return false;
  dtype = it->second;
  return true;
}

std::vector<int64_t> int_list(const PickleValue& value, bool& ok) {
  std::vector<int64_t> out;
  ok = value.kind == Kind::kTuple && static_cast<int64_t>(value.items.size()) <= kMaxTensorDims;
  if (!ok) return out;
  for (const auto& item : value.items) {
    if (item->kind != Kind::kInt || item->integer < 0) {
      ok = false;
      return out;
    }
    out.push_back(item->integer);
  }
  return out;
}

}  // namespace

TorchArchive::TorchArchive(fs::path path) : zip_(std::move(path)) {
  const std::string where = zip_.path().string();
  zip_.verify();
  const ZipEntry* pickle = nullptr;
  for (const ZipEntry& e : zip_.entries()) {
    const std::string suffix = "/data.pkl";
    if (e.name.size() > suffix.size() &&
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        e.name.find('/') == e.name.size() - suffix.size()) {
      if (pickle)
        throw Error(where, "holds two pickles (" + pickle->name + ", " + e.name +
                               "): not a file written by torch.save");
      pickle = &e;
    }
  }
  if (!pickle) throw Error(where, "holds no <name>/data.pkl: not a file written by torch.save");
  prefix_ = pickle->name.substr(0, pickle->name.size() - std::string("data.pkl").size());
  if (const ZipEntry* order = zip_.find(prefix_ + "byteorder")) {
    const std::string text = zip_.read(*order, 16);
    if (text != "little")
      throw Error(where, "records byte order '" + text + "'; only little-endian files are read");
  }
  root_ = parse_pickle(zip_.read(*pickle, kMaxTorchPickleBytes), where + " (" + pickle->name + ")");
}

bool TorchArchive::is_tensor(const PickleValue& value) {
  const std::string name = value.global_name();
  return value.kind == Kind::kObject &&
         (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_parameter");
}

at::Tensor TorchArchive::storage(const PickleValue& id, const std::string& what) const {
  const std::string where = path().string();
  // ('storage', torch.<T>Storage, key, location, numel)
  const PickleValue* pid = id.args.get();
  const bool shaped = id.kind == Kind::kPersistentId && pid && pid->kind == Kind::kTuple &&
                      pid->items.size() == 5 && pid->items[0]->kind == Kind::kString &&
                      pid->items[0]->text == "storage" && pid->items[1]->kind == Kind::kGlobal &&
                      pid->items[2]->kind == Kind::kString && pid->items[4]->kind == Kind::kInt;
  if (!shaped) throw Error(where, what + ": its storage is not a torch.save storage record");
  at::ScalarType dtype;
  if (!storage_dtype(pid->items[1]->text, dtype))
    throw Error(where, what + ": storage type " + pid->items[1]->text + " is not read");
  const std::string& key = pid->items[2]->text;
  const int64_t numel = pid->items[4]->integer;
  const auto found = storages_.find(key);
  if (found != storages_.end()) {
    if (found->second.scalar_type() != dtype || found->second.numel() != numel)
      throw Error(where, what + ": storage " + key + " is named twice with different types");
    return found->second;
  }
  const ZipEntry* record = zip_.find(prefix_ + "data/" + key);
  if (!record) throw Error(where, what + ": storage record data/" + key + " is missing");
  const auto element = static_cast<uint64_t>(c10::elementSize(dtype));
  if (numel < 0 || static_cast<uint64_t>(numel) > record->size / element ||
      static_cast<uint64_t>(numel) * element != record->size)
    throw Error(where, what + ": storage record data/" + key + " holds " +
                           std::to_string(record->size) + " bytes, not " + std::to_string(numel) +
                           " elements of " + std::to_string(element) + " bytes");
  const std::string bytes = zip_.read(*record, record->size);
  at::Tensor t = at::empty({numel}, at::TensorOptions().dtype(dtype));
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  storages_.emplace(key, t);
  return t;
}

at::Tensor TorchArchive::tensor(const PickleValue& value, const std::string& what) const {
  const std::string where = path().string();
  if (!is_tensor(value)) throw Error(where, what + " is a " + value.type_name() + ", not a tensor");
  const auto& args = value.args->items;
  if (value.global_name() == "torch._utils._rebuild_parameter") {
    if (args.empty() || !is_tensor(*args[0]) ||
        args[0]->global_name() != "torch._utils._rebuild_tensor_v2")
      throw Error(where, what + ": a parameter without its tensor");
    return tensor(*args[0], what);
  }
  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
  bool sizes_ok = false, strides_ok = false;
  if (args.size() < 4 || args[1]->kind != Kind::kInt || args[1]->integer < 0)
    throw Error(where, what + ": malformed tensor record (storage, offset, size, stride)");
  const std::vector<int64_t> sizes = int_list(*args[2], sizes_ok);
  const std::vector<int64_t> strides = int_list(*args[3], strides_ok);
  if (!sizes_ok || !strides_ok || sizes.size() != strides.size())
    throw Error(where, what + ": malformed tensor sizes or strides");
  const at::Tensor data = storage(*args[0], what);
  const int64_t offset = args[1]->integer;
  // The last element the view reaches must lie inside the storage (overflow-safe).
  bool empty = false;
  uint64_t last = static_cast<uint64_t>(offset);
  const uint64_t limit = static_cast<uint64_t>(data.numel());
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 0) empty = true;
    const auto extent = static_cast<uint64_t>(std::max<int64_t>(sizes[d] - 1, 0));
    const auto stride = static_cast<uint64_t>(strides[d]);
    if (stride != 0 && extent > (limit + 1) / stride)
      throw Error(where, what + ": sizes and strides reach beyond its storage");
    last += extent * stride;
    if (last > limit) throw Error(where, what + ": sizes and strides reach beyond its storage");
  }
  if (empty) return at::empty(sizes, data.options());
  if (last >= limit) throw Error(where, what + ": sizes and strides reach beyond its storage");
  return data.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
}

}  // namespace medseg
