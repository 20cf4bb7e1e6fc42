// NumPy .npy files (preprocessed cases): read_npy_header, and read_npy copied and memory-mapped.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>

#include "fuzz_support.h"
#include "medseg/preprocess/npy.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  const auto path = medseg::fuzz::write_input(data, size, "input.npy");
  expect_error_or_success([&] {
    const medseg::NpyHeader h = medseg::read_npy_header(path);
    // An accepted header describes exactly the bytes of the file.
    int64_t numel = 1;
    for (int64_t n : h.shape) numel *= n;  // the reader has checked that this cannot overflow
    if (h.data_offset + numel * h.item_size != static_cast<int64_t>(size)) __builtin_trap();
  });
  for (const bool mmap : {false, true}) {
    expect_error_or_success([&] {
      const at::Tensor t = medseg::read_npy(path, mmap);
      if (static_cast<size_t>(t.numel()) * t.element_size() > size) __builtin_trap();
    });
  }
  return 0;
}
