// Inputs the fuzzers of tests/fuzz/ found (each was a crash or undefined behaviour before its
// fix), made here again: they must stay a medseg::Error naming the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "medseg/core/error.h"
#include "medseg/preprocess/npy.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

// A version 1.0 .npy file of the given header dictionary and no data.
void write_npy_with_dict(const std::filesystem::path& path, const std::string& dict) {
  std::ofstream out(path, std::ios::binary);
  out << std::string("\x93NUMPY\x01\x00", 8) << static_cast<char>(dict.size() & 0xFF)
      << static_cast<char>(dict.size() >> 8) << dict;
}

// The element count of the shape overflowed int64 (undefined behaviour) and could even wrap to
// the file's size.
TEST(PreprocessFuzzFindings, NpyShapeTooLargeFor64Bits) {
  testing::TempDir dir;
  write_npy_with_dict(
      dir / "a.npy",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4129827551997708060, 4), }\n");
  EXPECT_EQ(
      error_of([&] { read_npy_header(dir / "a.npy"); }),
      (dir / "a.npy").string() + ": corrupt .npy header: the shape's size does not fit in 64 bits");
  // Empty, but its strides would overflow.
  write_npy_with_dict(
      dir / "b.npy",
      "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4), }\n");
  EXPECT_THAT(error_of([&] { read_npy(dir / "b.npy"); }), HasSubstr("does not fit in 64 bits"));
  // A real empty array still reads.
  write_npy_with_dict(dir / "c.npy",
                      "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 7), }\n");
  EXPECT_EQ(read_npy(dir / "c.npy").sizes(), (std::vector<int64_t>{0, 7}));
}

}  // namespace
}  // namespace medseg
