// Soft Dice against values worked out by hand on tiny tensors (smooth = 1e-5).
#include "medseg/loss/soft_dice.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

constexpr double kSmooth = 1e-5;

// (B=1, C, 1, 1, N) probabilities / one-hot from per-class rows.
at::Tensor volume(std::vector<std::vector<float>> rows) {
  std::vector<at::Tensor> channels;
  for (auto& row : rows) channels.push_back(torch::tensor(row).view({1, 1, 1, 1, -1}));
  return torch::cat(channels, 1);
}

TEST(SoftDice, PerfectPredictionGivesMinusOne) {
  const at::Tensor onehot = volume({{1, 1, 0, 0}, {0, 0, 1, 1}});
  EXPECT_DOUBLE_EQ(soft_dice_loss(onehot, onehot, {}).item<double>(), -1.0);
}

TEST(SoftDice, AllWrongGivesOnlyTheSmoothingTerm) {
  const at::Tensor target = volume({{1, 1, 0, 0}, {0, 0, 1, 1}});
  const at::Tensor pred = volume({{0, 0, 1, 1}, {1, 1, 0, 0}});
  // Class 1 (background excluded): tp = 0, sum_pred = 2, sum_gt = 2.
  EXPECT_NEAR(soft_dice_loss(pred, target, {}).item<double>(), -kSmooth / (4 + kSmooth), 1e-9);
}

TEST(SoftDice, EmptyClassCountsAsDiceOneOrNearZero) {
  const at::Tensor target = volume({{1, 1, 0, 0}, {0, 0, 1, 1}, {0, 0, 0, 0}});
  // Class 2 absent and never predicted: dc = smooth / smooth = 1, as in the reference.
  EXPECT_NEAR(soft_dice_loss(target, target, {}).item<double>(), -1.0, 1e-7);
  // Predicting 0.5 of class 2 in one voxel: dc_2 = smooth / (0.5 + smooth).
  const at::Tensor pred = volume({{0.5f, 1, 0, 0}, {0, 0, 1, 1}, {0.5f, 0, 0, 0}});
  const double dc1 = 1.0, dc2 = kSmooth / (0.5 + kSmooth);
  EXPECT_NEAR(soft_dice_loss(pred, target, {}).item<double>(), -(dc1 + dc2) / 2, 1e-7);
}

TEST(SoftDice, BatchDiceSumsOverTheBatchBeforeTheRatio) {
  // Sample 0: class 1 in 2 voxels, predicted exactly. Sample 1: no class 1, predicted in 1.
  const at::Tensor target =
      torch::cat({volume({{0, 0, 1, 1}, {1, 1, 0, 0}}), volume({{1, 1, 1, 1}, {0, 0, 0, 0}})});
  const at::Tensor pred =
      torch::cat({volume({{0, 0, 1, 1}, {1, 1, 0, 0}}), volume({{0, 1, 1, 1}, {1, 0, 0, 0}})});
  SoftDiceOptions per_sample;
  // dc = 1 for sample 0, smooth / (1 + smooth) for sample 1.
  EXPECT_NEAR(soft_dice_loss(pred, target, per_sample).item<double>(),
              -(1.0 + kSmooth / (1 + kSmooth)) / 2, 1e-7);
  SoftDiceOptions batch;
  batch.batch_dice = true;
  // tp = 2, sum_gt = 2, sum_pred = 3: dc = (4 + s) / (5 + s).
  EXPECT_NEAR(soft_dice_loss(pred, target, batch).item<double>(), -(4 + kSmooth) / (5 + kSmooth),
              1e-7);
}

TEST(SoftDice, MaskRemovesVoxelsAndBackgroundCanBeIncluded) {
  const at::Tensor target = volume({{1, 1, 0, 0}, {0, 0, 1, 1}});
  const at::Tensor pred = volume({{1, 1, 0, 1}, {0, 0, 1, 0}});
  const at::Tensor mask = volume({{1, 1, 1, 0}});  // the wrong voxel is masked out
  EXPECT_NEAR(soft_dice_loss(pred, target, {}, mask).item<double>(), -1.0, 1e-7);
  SoftDiceOptions with_bg;
  with_bg.do_bg = true;
  // Unmasked, class 0: tp 2, pred 3, gt 2 -> (4+s)/(5+s); class 1: tp 1, pred 1, gt 2 ->
  // (2+s)/(3+s).
  const double expected = -((4 + kSmooth) / (5 + kSmooth) + (2 + kSmooth) / (3 + kSmooth)) / 2;
  EXPECT_NEAR(soft_dice_loss(pred, target, with_bg).item<double>(), expected, 1e-7);
}

TEST(SoftDice, ShapeMismatchIsAnError) {
  try {
    soft_dice_loss(torch::zeros({1, 2, 4, 4}), torch::zeros({1, 3, 4, 4}), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("soft Dice: probabilities of shape [1, 2, 4, 4] and "
                                               "one-hot target of shape [1, 3, 4, 4] must have the "
                                               "same shape"));
  }
}

}  // namespace
}  // namespace medseg
