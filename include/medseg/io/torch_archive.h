// Files written by Python's torch.save (the reference nnU-Net's checkpoint_*.pth): a zip holding
// <name>/data.pkl (the pickled object) and <name>/data/<key> (one record per tensor storage),
// read without Python: the zip container is verified first (CRC-32, records), the pickle is
// parsed by io/pickle.h, and tensors are rebuilt from their storage records only when asked for.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

#include "medseg/io/pickle.h"
#include "medseg/io/zip_archive.h"

namespace medseg {

// data.pkl larger than this is refused (a checkpoint's is tens of KB to a few MB).
inline constexpr uint64_t kMaxTorchPickleBytes = uint64_t{64} << 20;

class TorchArchive {
 public:
  // Error naming `path` when it is no zip, not written by torch.save (no single <name>/data.pkl),
  // big-endian, or its pickle is malformed.
  explicit TorchArchive(std::filesystem::path path);

  const std::filesystem::path& path() const { return zip_.path(); }
  const PickleValue& root() const { return *root_; }

  // Whether `value` is a tensor as torch.save pickles one (torch._utils._rebuild_tensor_v2, or a
  // _rebuild_parameter around it).
  static bool is_tensor(const PickleValue& value);
  // The tensor (float32, float64, float16, bfloat16, int64/32/16/8, uint8 or bool; contiguous,
  // on the CPU, its own memory). Error naming the file and `what` when the value is no tensor,
  // its storage record is missing or too small for its sizes, strides and offset.
  at::Tensor tensor(const PickleValue& value, const std::string& what) const;

 private:
  at::Tensor storage(const PickleValue& persistent_id, const std::string& what) const;

  ZipReader zip_;
  std::string prefix_;  // "<name>/"
  PickleRef root_;
  mutable std::map<std::string, at::Tensor> storages_;  // by record key, read once
};

}  // namespace medseg
