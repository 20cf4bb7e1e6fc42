// NumPy .npy files (format 1.0 written; 1.0 to 3.0 read): the arrays of preprocessed cases, so
// that Python users can np.load(..., mmap_mode='r') them and training can memory-map them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

struct NpyHeader {
  std::string descr;           // e.g. "<f4", "<i2", "|u1"
  std::vector<int64_t> shape;  // C order
  int64_t data_offset = 0;     // bytes before the array data
  int64_t item_size = 0;
};

// Writes a C-order .npy (little-endian; float32, float64, int8, uint8, int16, int32, int64, bool)
// atomically: a temporary name, renamed when complete; a failed write (a full disk) is an Error
// naming `path` and the reason.
void write_npy(const std::filesystem::path& path, const at::Tensor& tensor);

// Parses and checks the header (magic, version, dtype, C order, shape, file size against the
// data size). Throws Error naming the file for anything corrupt, truncated or unsupported.
NpyHeader read_npy_header(const std::filesystem::path& path);

// The array as a tensor. With mmap, a view on a private (copy-on-write) mapping of the file: the
// pages are read when touched and the mapping is released with the last tensor that uses it;
// writes to the tensor never reach the file. Without mmap, a tensor owning a copy.
at::Tensor read_npy(const std::filesystem::path& path, bool mmap = false);

}  // namespace medseg
