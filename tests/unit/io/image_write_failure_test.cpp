// A failed image write (a full disk; ITK's writers do not report it) is an Error naming the
// file and leaves no file behind; check_image_file finds outputs earlier runs left broken.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <limits>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "support/error_of.h"
#include "support/temp_dir.h"
#include "support/write_failures.h"

namespace medseg {
namespace {

using testing::entries_in;
using ::testing::HasSubstr;

// Random labels 0-199 on 32x64x64: about 130 KB even compressed.
Image incompressible_labels() {
  torch::manual_seed(3);
  return Image{torch::randint(0, 200, {32, 64, 64}, torch::kByte),
               ImageGeometry::with_spacing({1.5, 0.8, 0.8})};
}

TEST(ImageWriteFailure, AFullDiskIsAnErrorNamingTheFileAndLeavesNoFile) {
  MEDSEG_MOUNT_SMALL_FILESYSTEM_OR_SKIP(disk, 256 * 1024);
  const Image labels = incompressible_labels();
  const fs::path target = *disk / "case_001.nii.gz";
  // No room at all (ITK wrote a 0-byte file), then room for part of it (a truncated one).
  for (const size_t room : {size_t{0}, size_t{64 * 1024}}) {
    disk->fill(room);
    const std::string error = testing::error_of([&] { write_label_image(labels, target); });
    EXPECT_EQ(error.rfind(target.string() + ": could not write image: No space left on device", 0),
              0u)
        << room << ": " << error;
    EXPECT_FALSE(fs::exists(target)) << room;
    EXPECT_EQ(entries_in(disk->path()), 0u) << room;
    fs::remove(*disk / ".filler");
  }
  write_label_image(labels, target);  // with room, the same write succeeds
  EXPECT_TRUE(torch::equal(read_image(target).data, labels.data));
}

TEST(ImageWriteFailure, EveryFormatsFailedWriteIsAnError) {
  testing::TempDir dir;
  const Image image{torch::rand({6, 7, 8}), ImageGeometry::with_spacing({1, 1, 1})};
  const testing::FailWritesTo fail("broken");
  for (const std::string name : {"broken.nii.gz", "broken.nii", "broken.nrrd", "broken.mha"}) {
    const std::string error = testing::error_of([&] { write_image(image, dir / name); });
    EXPECT_EQ(error.rfind((dir / name).string() + ": could not write image: ", 0), 0u) << error;
    EXPECT_THAT(error, HasSubstr("No space left on device")) << name;
    EXPECT_EQ(entries_in(dir.path()), 0u) << name;
  }
}

TEST(ImageWriteFailure, NonFiniteFloatsAreNotMistakenForAFailedWrite) {
  // The NIfTI reader gives 0 for NaN and infinities: the check after writing must allow that.
  testing::TempDir dir;
  Image image{torch::ones({4, 4, 4}), ImageGeometry::with_spacing({1, 1, 1})};
  image.data[0][0][0] = std::numeric_limits<float>::quiet_NaN();
  image.data[1][2][3] = std::numeric_limits<float>::infinity();
  for (const std::string name : {"f.nii.gz", "f.nrrd"}) {
    write_image(image, dir / name);
    EXPECT_TRUE(fs::exists(dir / name)) << name;
  }
}

TEST(ImageWriteFailure, CheckImageFileFindsEmptyAndTruncatedFiles) {
  testing::TempDir dir;
  const fs::path good = dir / "good.nii.gz";
  write_label_image(incompressible_labels(), good);
  EXPECT_NO_THROW(check_image_file(good));
  std::ofstream(dir / "empty.nii.gz").flush();
  EXPECT_THAT(testing::error_of([&] { check_image_file(dir / "empty.nii.gz"); }),
              HasSubstr((dir / "empty.nii.gz").string() + ": "));
  std::ifstream in(good, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  std::ofstream(dir / "half.nii.gz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THAT(testing::error_of([&] { check_image_file(dir / "half.nii.gz"); }),
              HasSubstr((dir / "half.nii.gz").string() + ": file is truncated or corrupt"));
}

TEST(ImageWriteFailure, DetachedHeadersNameTheirVoxelFileByItsFinalName) {
  // ITK names the voxel file of .mhd / .nhdr after the header: written under a temporary name,
  // the header named a temporary voxel file, which a clean-up would remove.
  testing::TempDir dir;
  const Image image{torch::rand({3, 4, 5}), ImageGeometry::with_spacing({1, 2, 3})};
  for (const std::string name : {"a.mhd", "b.nhdr"}) {
    write_image(image, dir / name);
    std::ifstream in(dir / name);
    const std::string header(std::istreambuf_iterator<char>(in), {});
    EXPECT_THAT(header, ::testing::Not(HasSubstr(".tmp-"))) << header;
    EXPECT_TRUE(torch::equal(read_image(dir / name).data, image.data)) << name;
  }
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_NE(entry.path().filename().string().front(), '.') << entry.path();
}

}  // namespace
}  // namespace medseg
