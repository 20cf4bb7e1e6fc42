#include "medseg/preprocess/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string expect_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

TEST(Npy, HeaderIsNumpysVersion1WithAlignedData) {
  TempDir dir;
  write_npy(dir / "a.npy", torch::zeros({2, 3, 4}));
  const std::string text = file_text(dir / "a.npy");
  EXPECT_EQ(text.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_THAT(text, HasSubstr("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }"));
  const NpyHeader h = read_npy_header(dir / "a.npy");
  EXPECT_EQ(h.data_offset % 64, 0);
  EXPECT_EQ(text[h.data_offset - 1], '\n');
  EXPECT_EQ(static_cast<int64_t>(text.size()), h.data_offset + 2 * 3 * 4 * 4);
}

TEST(Npy, RoundTripsEveryDtypeWithAndWithoutMmap) {
  TempDir dir;
  torch::manual_seed(0);
  const std::vector<at::Tensor> arrays{torch::rand({2, 3, 4}),
                                       torch::randint(-300, 300, {1, 5, 6}, torch::kShort),
                                       torch::randint(0, 255, {7}, torch::kByte),
                                       torch::rand({3, 2}, torch::kDouble),
                                       torch::randint(-5, 5, {4, 4}, torch::kLong),
                                       torch::rand({2, 2}).gt(0.5)};
  for (size_t i = 0; i < arrays.size(); ++i) {
    const fs::path path = dir / ("a" + std::to_string(i) + ".npy");
    write_npy(path, arrays[i]);
    for (bool mmap : {false, true}) {
      const at::Tensor back = read_npy(path, mmap);
      EXPECT_EQ(back.scalar_type(), arrays[i].scalar_type()) << i;
      EXPECT_TRUE(torch::equal(back, arrays[i])) << i << " mmap " << mmap;
    }
  }
  EXPECT_THAT(file_text(dir / "a2.npy"), HasSubstr("'shape': (7,)"));
}

TEST(Npy, WritesNonContiguousTensorsInCOrder) {
  TempDir dir;
  const at::Tensor t = torch::arange(6, torch::kFloat).reshape({2, 3}).t();
  write_npy(dir / "t.npy", t);
  EXPECT_TRUE(torch::equal(read_npy(dir / "t.npy"), t.contiguous()));
}

TEST(Npy, ReadsAFileNumpyWrote) {
  // The bytes of np.save(np.arange(3, dtype='<i2')) from numpy 1.24 (a 118-byte header).
  std::string header = "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }";
  header.append(117 - header.size(), ' ');
  header += '\n';
  std::string bytes =
      std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  bytes += std::string("\x00\x00\x01\x00\x02\x00", 6);
  TempDir dir;
  write_bytes(dir / "np.npy", bytes);
  const at::Tensor t = read_npy(dir / "np.npy", true);
  EXPECT_EQ(t.scalar_type(), torch::kShort);
  EXPECT_EQ(t.sizes(), std::vector<int64_t>{3});
  EXPECT_EQ(t[2].item<int>(), 2);
}

TEST(Npy, MmapIsCopyOnWriteAndOutlivesTheFile) {
  TempDir dir;
  write_npy(dir / "m.npy", torch::ones({4, 4}));
  at::Tensor mapped = read_npy(dir / "m.npy", true);
  mapped[0][0] = 5;  // private mapping: the file keeps its 1
  EXPECT_EQ(read_npy(dir / "m.npy")[0][0].item<float>(), 1.0f);
  fs::remove(dir / "m.npy");
  EXPECT_EQ(mapped.sum().item<float>(), 20.0f);
}

TEST(Npy, TruncatedFileIsNamed) {
  TempDir dir;
  write_npy(dir / "case_7.npy", torch::zeros({10, 10}));
  fs::resize_file(dir / "case_7.npy", fs::file_size(dir / "case_7.npy") - 4);
  for (bool mmap : {false, true}) {
    const std::string msg = expect_error([&] { read_npy(dir / "case_7.npy", mmap); });
    EXPECT_THAT(msg, HasSubstr("case_7.npy"));
    EXPECT_THAT(msg, HasSubstr("truncated .npy file"));
  }
  fs::resize_file(dir / "case_7.npy", 30);
  EXPECT_THAT(expect_error([&] { read_npy(dir / "case_7.npy"); }), HasSubstr("header incomplete"));
}

TEST(Npy, CorruptHeadersAreNamed) {
  TempDir dir;
  write_bytes(dir / "text.npy", "hello, this is not an array at all");
  EXPECT_THAT(expect_error([&] { read_npy(dir / "text.npy"); }), HasSubstr("not a .npy file"));
  write_bytes(dir / "empty.npy", "");
  EXPECT_THAT(expect_error([&] { read_npy(dir / "empty.npy"); }), HasSubstr("empty.npy"));
  EXPECT_THAT(expect_error([&] { read_npy(dir / "missing.npy"); }), HasSubstr("not found"));

  auto with_header = [&](const std::string& name, std::string dict, int64_t data_bytes) {
    dict.append(128 - 10 - dict.size() - 1, ' ');
    dict += '\n';
    write_bytes(dir / name, std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(dict.size()) +
                                '\0' + dict + std::string(static_cast<size_t>(data_bytes), '\0'));
  };
  with_header("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
  EXPECT_THAT(expect_error([&] { read_npy(dir / "fortran.npy"); }), HasSubstr("Fortran-order"));
  with_header("big.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
  EXPECT_THAT(expect_error([&] { read_npy(dir / "big.npy"); }),
              HasSubstr("unsupported .npy dtype '>f4'"));
  with_header("shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8);
  EXPECT_THAT(expect_error([&] { read_npy(dir / "shape.npy"); }), HasSubstr("shape '(2, x)'"));
  with_header("long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12);
  EXPECT_THAT(expect_error([&] { read_npy(dir / "long.npy"); }), HasSubstr("corrupt .npy file"));
}

}  // namespace
}  // namespace medseg
