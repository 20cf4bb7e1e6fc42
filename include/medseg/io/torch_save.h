// Files that Python's torch.load reads, written without Python (the checkpoint_*.pth of an
// nnU-Net results folder that `medseg export-model --format nnunet` writes): torch.save's zip
// format, <name>/data.pkl (a protocol 2 pickle, io/pickle_writer.h) beside one record
// <name>/data/<key> per tensor storage, <name>/byteorder and <name>/version; entries stored
// uncompressed, as torch.save stores them. io/torch_archive.h reads it back.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "medseg/io/pickle.h"

namespace medseg {

class TorchSaveWriter {
 public:
  // The value torch.save pickles for `tensor`: torch._utils._rebuild_tensor_v2 of its storage
  // (a persistent id naming the record), offset, sizes and strides. Tensors sharing a storage
  // share its record, as in torch.save. Error naming `what` for a tensor not on the CPU or of a
  // type torch.save has no storage class for.
  PickleRef tensor(const at::Tensor& tensor, const std::string& what);

  // Writes `root` and the storages of every tensor() so far to `path`, atomically (Error naming
  // `path` when it fails). The archive's folder is the file's name without its extension, as
  // torch.save names it.
  void write(const std::filesystem::path& path, const PickleValue& root) const;

 private:
  std::vector<c10::Storage> storages_;       // record key i: storages_[i]
  std::map<const void*, std::string> keys_;  // storage -> record key
};

}  // namespace medseg
