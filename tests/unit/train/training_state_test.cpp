#include "medseg/train/training_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/training_step.h"
#include "support/plans_builder.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

TrainingState some_state() {
  TrainingState s;
  s.epoch = 7;
  s.iteration = 3;
  s.next_train_batch = 7 * 10 + 3;
  s.next_val_batch = 7 * 2;
  s.partial_loss_sum = -1.5;
  s.ema_pseudo_dice = 0.61;
  s.best_ema = 0.62;
  EpochRecord r;
  r.epoch = 6;
  r.pseudo_dice = {0.6, std::nan("")};
  s.history = {r};
  return s;
}

TEST(TrainingState, CheckpointMetaRoundTrips) {
  TrainerSettings settings;
  settings.num_epochs = 20;
  const Plans plans = testing::minimal_plans({1.0, 1.0, 1.0});
  const nlohmann::json meta = checkpoint_meta(some_state(), {"3d_fullres", kFoldAll, 42}, settings, plans);
  EXPECT_EQ(meta["fold"], "all");
  EXPECT_EQ(meta["epoch"], 7);
  EXPECT_EQ(meta["seed"], 42);
  EXPECT_EQ(meta["rng"]["train_batch_seed"], train_batch_seed(42));
  EXPECT_EQ(meta["plans"], to_json(plans));
  const CheckpointRecord back = checkpoint_record_from_meta(meta, "ckpt");
  EXPECT_EQ(back.run.configuration, "3d_fullres");
  EXPECT_EQ(back.run.fold, kFoldAll);
  EXPECT_EQ(back.run.seed, 42u);
  EXPECT_EQ(back.state.iteration, 3);
  EXPECT_EQ(back.state.next_train_batch, 73);
  EXPECT_EQ(back.state.next_val_batch, 14);
  EXPECT_DOUBLE_EQ(back.state.partial_loss_sum, -1.5);
  EXPECT_DOUBLE_EQ(back.state.best_ema, 0.62);
  EXPECT_EQ(back.settings.num_epochs, 20);
  ASSERT_EQ(back.state.history.size(), 1u);
  EXPECT_TRUE(std::isnan(back.state.history[0].pseudo_dice[1]));
  TrainingState fresh;
  EXPECT_TRUE(std::isnan(checkpoint_record_from_meta(checkpoint_meta(fresh, {"2d", 1, 0}, settings, plans), "c")
                             .state.best_ema));
}

TEST(TrainingState, RejectsOtherDocuments) {
  try {
    checkpoint_record_from_meta({{"epoch", 3}}, "model.pt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("model.pt: is not a medseg training checkpoint"));
  }
  EXPECT_NE(train_batch_seed(1), val_batch_seed(1));
  EXPECT_NE(train_batch_seed(1), train_batch_seed(2));
}

// A kill while a checkpoint is written must leave the previous one usable: the write goes
// through write_atomically, whose writer dies half-way here.
TEST(TrainingState, InterruptedCheckpointWriteKeepsThePreviousFile) {
  testing::TempDir dir;
  const auto file = dir / "checkpoint_latest.pt";
  torch::nn::Linear net(3, 2);
  torch::nn::init::constant_(net->weight, 0.25);
  save_checkpoint(file, *net, nullptr, {{"epoch", 1}});
  EXPECT_THROW(write_atomically(file,
                                [](const std::filesystem::path& tmp) {
                                  std::ofstream(tmp) << "PK half a zip archive";
                                  throw std::runtime_error("killed while writing");
                                }),
               std::runtime_error);
  torch::nn::Linear other(3, 2);
  const auto meta = load_checkpoint(file, *other);
  EXPECT_EQ(meta["epoch"], 1);
  EXPECT_TRUE(torch::allclose(other->weight, torch::full({2, 3}, 0.25)));
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);  // no temporary left behind
}

TEST(TrainingStep, GradientClippingMatchesTorch) {
  torch::manual_seed(3);
  std::vector<at::Tensor> a{torch::randn({4, 5}, torch::requires_grad()), torch::randn({7}, torch::requires_grad())};
  std::vector<at::Tensor> b{a[0].detach().clone().requires_grad_(), a[1].detach().clone().requires_grad_()};
  ((a[0] * 3).pow(2).sum() + a[1].sum() * 10).backward();
  ((b[0] * 3).pow(2).sum() + b[1].sum() * 10).backward();
  clip_gradient_norm(a, 12.0);
  torch::nn::utils::clip_grad_norm_(b, 12.0);
  EXPECT_TRUE(torch::allclose(a[0].grad(), b[0].grad(), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(a[1].grad(), b[1].grad(), 1e-6, 1e-6));
  const double norm = std::sqrt(a[0].grad().pow(2).sum().item<double>() + a[1].grad().pow(2).sum().item<double>());
  EXPECT_NEAR(norm, 12.0, 1e-4);
  // Below the limit nothing changes.
  const at::Tensor before = a[1].grad().clone();
  clip_gradient_norm(a, 1000.0);
  EXPECT_TRUE(torch::equal(before, a[1].grad()));
}

}  // namespace
}  // namespace medseg
