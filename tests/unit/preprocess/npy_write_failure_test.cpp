// A failed .npy write (a full disk) is an Error naming the file and leaves nothing behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/preprocess/npy.h"
#include "support/error_of.h"
#include "support/temp_dir.h"
#include "support/write_failures.h"

namespace medseg {
namespace {

using testing::entries_in;

TEST(NpyWriteFailure, AFullDiskIsAnErrorNamingTheFile) {
  MEDSEG_MOUNT_SMALL_FILESYSTEM_OR_SKIP(disk, 128 * 1024);
  const fs::path target = *disk / "case_001.npy";
  const at::Tensor data = torch::rand({4, 32, 32, 32});  // 512 KB
  EXPECT_EQ(testing::error_of([&] { write_npy(target, data); }),
            target.string() + ": could not write: No space left on device");
  EXPECT_EQ(entries_in(disk->path()), 0u);
  write_npy(target, data.slice(1, 0, 4));  // 64 KB fits
  EXPECT_TRUE(torch::equal(read_npy(target), data.slice(1, 0, 4)));
}

TEST(NpyWriteFailure, AFailingDeviceIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  const testing::FailWritesTo fail("case_001_seg.npy");
  EXPECT_EQ(testing::error_of([&] {
              write_npy(dir / "case_001_seg.npy", torch::zeros({2, 3}, torch::kShort));
            }),
            (dir / "case_001_seg.npy").string() + ": could not write: No space left on device");
  EXPECT_EQ(entries_in(dir.path()), 0u);
}

}  // namespace
}  // namespace medseg
