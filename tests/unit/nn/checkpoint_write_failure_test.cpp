// A checkpoint that cannot be written (a full disk) is an Error naming it: libtorch's writer
// used to throw from its destructor after a short write, which aborted the whole process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/nn/checkpoint.h"
#include "support/error_of.h"
#include "support/temp_dir.h"
#include "support/write_failures.h"

namespace medseg {
namespace {

using testing::entries_in;

// About 1 MB of parameters, and as much SGD momentum once it has stepped.
struct SmallModel {
  torch::nn::Linear network{512, 512};
  torch::optim::SGD optimizer{network->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9)};
  SmallModel() {
    network(torch::ones({2, 512})).sum().backward();
    optimizer.step();
  }
};

TEST(CheckpointWriteFailure, AFullDiskIsAnErrorNamingTheCheckpoint) {
  MEDSEG_MOUNT_SMALL_FILESYSTEM_OR_SKIP(disk, 512 * 1024);
  SmallModel model;
  const fs::path target = *disk / "fold_0" / "checkpoint_best.pt";
  EXPECT_EQ(testing::error_of([&] {
              save_checkpoint(target, *model.network, &model.optimizer, {{"epoch", 3}});
            }),
            target.string() + ": could not write: No space left on device");
  EXPECT_EQ(entries_in(target.parent_path()), 0u);
}

TEST(CheckpointWriteFailure, AFailingDeviceIsAnErrorAndTheNextSaveWorks) {
  testing::TempDir dir;
  SmallModel model;
  const fs::path target = dir / "checkpoint_latest.pt";
  {
    const testing::FailWritesTo fail("checkpoint_latest");
    EXPECT_EQ(testing::error_of([&] {
                save_checkpoint(target, *model.network, &model.optimizer, {{"epoch", 3}});
              }),
              target.string() + ": could not write: No space left on device");
    EXPECT_EQ(entries_in(dir.path()), 0u);
  }
  save_checkpoint(target, *model.network, &model.optimizer, {{"epoch", 4}});
  EXPECT_EQ(read_checkpoint_meta(target).at("epoch"), 4);
  torch::nn::Linear loaded(512, 512);
  load_checkpoint(target, *loaded, nullptr);
  EXPECT_TRUE(torch::equal(loaded->weight, model.network->weight));
}

}  // namespace
}  // namespace medseg
