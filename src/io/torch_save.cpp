#include "medseg/io/torch_save.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/pickle_writer.h"
#include "medseg/io/zip_archive.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

// The element type -> torch.<Name>Storage (the inverse of torch_archive.cpp's table).
std::string torch_save_storage_class(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat:
      return "torch.FloatStorage";
    case at::kDouble:
      return "torch.DoubleStorage";
    case at::kHalf:
      return "torch.HalfStorage";
    case at::kBFloat16:
      return "torch.BFloat16Storage";
    case at::kLong:
      return "torch.LongStorage";
    case at::kInt:
      return "torch.IntStorage";
    case at::kShort:
      return "torch.ShortStorage";
    case at::kChar:
      return "torch.CharStorage";
    case at::kByte:
      return "torch.ByteStorage";
    case at::kBool:
      return "torch.BoolStorage";
    default:
      return "";
  }
}

PickleRef torch_save_int_tuple(at::IntArrayRef values) {
  std::vector<PickleRef> items;
  for (const int64_t v : values) items.push_back(pickle_int(v));
  return pickle_tuple(std::move(items));
}

}  // namespace

PickleRef TorchSaveWriter::tensor(const at::Tensor& t, const std::string& what) {
  if (!t.defined()) throw Error(what, "is an undefined tensor");
  if (!t.device().is_cpu())
    throw Error(what, "is not on the CPU (torch.save records CPU storages here)");
  const std::string storage_class = torch_save_storage_class(t.scalar_type());
  if (storage_class.empty())
    throw Error(what, std::string("is a tensor of type ") + c10::toString(t.scalar_type()) +
                          ", for which torch.save has no storage class");
  const c10::Storage& storage = t.storage();
  const void* id = storage.unsafeGetStorageImpl();
  auto found = keys_.find(id);
  if (found == keys_.end()) {
    found = keys_.emplace(id, std::to_string(storages_.size())).first;
    storages_.push_back(storage);
  }
  const auto element = static_cast<int64_t>(t.element_size());
  const auto numel = static_cast<int64_t>(storage.nbytes()) / element;
  PickleRef record = pickle_persistent_id(
      pickle_tuple({pickle_string("storage"), pickle_global(storage_class),
                    pickle_string(found->second), pickle_string("cpu"), pickle_int(numel)}));
  return pickle_call(
      "torch._utils._rebuild_tensor_v2",
      {record, pickle_int(t.storage_offset()), torch_save_int_tuple(t.sizes()),
       torch_save_int_tuple(t.strides()), pickle_bool(false), pickle_ordered_dict({})});
}

void TorchSaveWriter::write(const fs::path& path, const PickleValue& root) const {
  std::string name = path.filename().string();
  if (const size_t dot = name.find('.'); dot != std::string::npos && dot > 0) name.resize(dot);
  if (name.empty()) name = "archive";
  const std::string pickle = write_pickle(root, path.string());
  write_atomically(path, [&](const fs::path& tmp) {
    ZipWriter zip(tmp);
    zip.add_data(name + "/data.pkl", pickle, ZipMethod::kStore);
    zip.add_data(name + "/byteorder", "little", ZipMethod::kStore);
    for (size_t key = 0; key < storages_.size(); ++key) {
      const c10::Storage& s = storages_[key];
      const std::string bytes(static_cast<const char*>(s.data()), s.nbytes());
      zip.add_data(name + "/data/" + std::to_string(key), bytes, ZipMethod::kStore);
    }
    zip.add_data(name + "/version", "3\n", ZipMethod::kStore);
    zip.finish();
  });
}

}  // namespace medseg
