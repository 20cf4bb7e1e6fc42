// Damaged NRRD files (.nrrd, .nhdr) are an Error naming the file, checked before ITK's NrrdIO
// parses them: it overflows its heap on an input without a line end (a device) and its stack
// on an error about a long header line, and leaks on truncated voxel data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "support/error_of.h"
#include "support/file_bytes.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The header of a raw float image of 2x3x4 voxels (x fastest), each line ended by `eol`;
// `extra` lines go before the encoding.
std::string nrrd_test_header(const std::string& extra = "", const std::string& eol = "\n") {
  std::string header;
  for (const std::string line :
       {"NRRD0004", "# written by hand", "type: float", "dimension: 3",
        "space: left-posterior-superior", "sizes: 2 3 4",
        "space directions: (1,0,0) (0,1,0) (0,0,2.5)", "space origin: (0,0,0)"})
    header += line + eol;
  return header + extra + "endian: little" + eol + "encoding: raw" + eol;
}

// The voxels 0, 1, ..., 23 as little-endian floats.
std::string nrrd_test_voxels() {
  std::string bytes;
  for (int i = 0; i < 24; ++i) {
    const float v = static_cast<float>(i);
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return bytes;
}

// Every reader of an image path gives an Error that names `path` and contains `problem`.
void expect_nrrd_error(const fs::path& path, const std::string& problem) {
  for (const auto& read : std::vector<std::function<void()>>{[&] { read_image(path); },
                                                             [&] { read_image_header(path); },
                                                             [&] { check_image_file(path); }}) {
    const std::string error = error_of(read);
    EXPECT_THAT(error, StartsWith(path.string() + ": ")) << problem;
    EXPECT_THAT(error, HasSubstr(problem)) << path;
  }
}

TEST(NrrdHeader, ValidFilesWrittenElsewhereStillRead) {
  // CRLF line ends, a long comment and a long key:=value pair (both are only stored).
  testing::TempDir dir;
  const std::string long_value = "key:=" + std::string(3000, 'v');
  const std::string long_comment = "# " + std::string(3000, 'c');
  for (const std::string eol : {"\n", "\r\n"}) {
    const fs::path file = dir / (eol == "\n" ? "lf.nrrd" : "crlf.nrrd");
    testing::write_file_bytes(file, nrrd_test_header(long_value + eol + long_comment + eol, eol) +
                                        eol + nrrd_test_voxels());
    const Image image = read_image(file);
    EXPECT_EQ(image.data.sizes(), (std::vector<int64_t>{4, 3, 2})) << eol.size();
    EXPECT_TRUE(torch::equal(image.data.flatten(), torch::arange(24, torch::kFloat)));
    EXPECT_DOUBLE_EQ(image.geometry.spacing[0], 2.5);
  }
}

TEST(NrrdHeader, TruncatedFilesAreAnErrorNamingTheFile) {
  testing::TempDir dir;
  torch::manual_seed(5);
  const Image image{torch::rand({5, 6, 7}), ImageGeometry::with_spacing({1, 2, 3})};
  write_image(image, dir / "full.nrrd");  // gzip-encoded, as medseg writes NRRD
  const std::string bytes = testing::read_file_bytes(dir / "full.nrrd");
  const size_t header_end = bytes.find("\n\n") + 2;
  ASSERT_NE(header_end, std::string::npos + 2);
  const struct {
    size_t keep;
    std::string problem;
  } cuts[] = {{5, "truncated NRRD header: the file ends (after 5 bytes) within the magic line"},
              {header_end / 2, "truncated NRRD header"},
              {header_end - 1, "before the empty line that ends the header"},
              {header_end, "file is truncated or corrupt: 0 of 840 voxel bytes"},
              {header_end + (bytes.size() - header_end) / 2, "file is truncated or corrupt"}};
  for (const auto& cut : cuts) {
    const fs::path file = dir / ("cut_" + std::to_string(cut.keep) + ".nrrd");
    testing::write_file_bytes(file, bytes.substr(0, cut.keep));
    expect_nrrd_error(file, cut.problem);
  }
  EXPECT_TRUE(torch::equal(read_image(dir / "full.nrrd").data, image.data));

  // Raw data: the file's size against the header's promise.
  const std::string raw = nrrd_test_header() + "\n" + nrrd_test_voxels();
  testing::write_file_bytes(dir / "raw.nrrd", raw.substr(0, raw.size() - 10));
  expect_nrrd_error(dir / "raw.nrrd",
                    "file is truncated: 86 bytes of voxel data, the header promises 96");
  testing::write_file_bytes(dir / "empty.nrrd", "");
  expect_nrrd_error(dir / "empty.nrrd", "file is empty");
}

TEST(NrrdHeader, HeaderLinesNrrdIoCannotParseSafelyAreAnError) {
  // Each of these crashed inside ITK (stack smashing in biff's message formatting, or a heap
  // overflow): a field line of 1200 characters, a NUL byte, and no magic line.
  testing::TempDir dir;
  const std::string voxels = "\n" + nrrd_test_voxels();
  testing::write_file_bytes(dir / "long_type.nrrd",
                            nrrd_test_header("type: " + std::string(1200, 'f') + "\n") + voxels);
  expect_nrrd_error(dir / "long_type.nrrd",
                    "corrupt NRRD header: line 9 has 1206 characters; field lines of more than "
                    "768 are not read");
  testing::write_file_bytes(dir / "long_field.nrrd",
                            nrrd_test_header(std::string(1200, 'q') + ": 1\n") + voxels);
  expect_nrrd_error(dir / "long_field.nrrd", "line 9 has 1203 characters");
  std::string with_nul = nrrd_test_header("content: ab\n") + voxels;
  with_nul[with_nul.find("content: ab") + 10] = '\0';
  testing::write_file_bytes(dir / "nul.nrrd", with_nul);
  expect_nrrd_error(dir / "nul.nrrd", "corrupt NRRD header: line 9 holds a NUL byte");
  testing::write_file_bytes(dir / "magic.nrrd",
                            "NRRD0004x\n" + nrrd_test_header().substr(9) + voxels);
  expect_nrrd_error(dir / "magic.nrrd", "not a NRRD file: its first line is not the magic");
  testing::write_file_bytes(dir / "other.nrrd", "P5\n2 3\n255\n" + std::string(6, 'x'));
  expect_nrrd_error(dir / "other.nrrd", "not a NRRD file");
  // A megabyte of header lines without the empty line that ends them.
  std::string endless = "NRRD0004\n";
  while (endless.size() <= (size_t{1} << 20)) endless += "# comment\n";
  testing::write_file_bytes(dir / "endless.nrrd", endless);
  expect_nrrd_error(dir / "endless.nrrd", "no empty line ends it within the first 1048576 bytes");
}

TEST(NrrdHeader, DevicesAreNotRead) {
  // NrrdIO read /dev/zero (or /dev/full, behind a failed write) until its line buffer's size
  // wrapped around, then overflowed the heap.
  testing::TempDir dir;
  std::error_code ec;
  fs::create_symlink("/dev/zero", dir / "zero.nrrd", ec);
  if (ec || !fs::is_character_file(dir / "zero.nrrd")) GTEST_SKIP() << "no /dev/zero here";
  expect_nrrd_error(dir / "zero.nrrd", "not a regular file");
}

TEST(NrrdHeader, DetachedDataMustBeThereInFull) {
  testing::TempDir dir;
  const Image image{torch::rand({3, 4, 5}), ImageGeometry::with_spacing({1, 1, 1})};
  write_image(image, dir / "a.nhdr");
  const std::string header = testing::read_file_bytes(dir / "a.nhdr");
  const size_t at = header.find("data file: ");
  ASSERT_NE(at, std::string::npos) << header;
  const std::string name = header.substr(at + 11, header.find('\n', at) - at - 11);
  const fs::path data = dir / name;
  const std::string voxels = testing::read_file_bytes(data);
  testing::write_file_bytes(data, voxels.substr(0, voxels.size() / 2));
  expect_nrrd_error(dir / "a.nhdr", "data file " + data.string() + " is truncated or corrupt");
  fs::remove(data);
  expect_nrrd_error(dir / "a.nhdr", "its data file " + data.string() + " is missing");

  // Raw detached data; the header ends with its file (no empty line), as detached ones may.
  testing::write_file_bytes(dir / "b.raw", nrrd_test_voxels().substr(0, 40));
  testing::write_file_bytes(dir / "b.nhdr", nrrd_test_header("data file: b.raw\n"));
  expect_nrrd_error(dir / "b.nhdr", "data file " + (dir / "b.raw").string() +
                                        " is truncated: 40 bytes of voxel data, the header "
                                        "promises 96");
  testing::write_file_bytes(dir / "b.raw", nrrd_test_voxels());
  EXPECT_TRUE(
      torch::equal(read_image(dir / "b.nhdr").data.flatten(), torch::arange(24, torch::kFloat)));
}

}  // namespace
}  // namespace medseg
