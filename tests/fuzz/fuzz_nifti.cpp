// NIfTI files (.nii, .nii.gz): medseg's own raw checks, which run before and after ITK's reader
// (src/io/nifti_raw.cpp): the NIfTI-1/2 header in either byte order, the gzip trailer and the
// truncation check, and the scan for NaN / infinite voxels. ITK's reader itself is not under the
// fuzzer: Debian's ITK 5.2 headers refuse to compile with Clang ("Unsupported compiler").
#include <cstdint>

#include "fuzz_support.h"
#include "nifti_raw.h"  // src/io: private to the io layer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  const bool gzipped = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const auto path = medseg::fuzz::write_input(data, size, gzipped ? "input.nii.gz" : "input.nii");
  if (!medseg::nifti::is_nifti(path)) __builtin_trap();
  expect_error_or_success([&] { medseg::nifti::check_complete(path); });
  expect_error_or_success([&] {
    if (medseg::nifti::count_non_finite(path) < 0) __builtin_trap();
  });
  return 0;
}
