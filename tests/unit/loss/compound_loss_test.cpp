// Dice+CE and Dice+BCE against values worked out by hand. Two voxels: logits (0, ln 3) give
// softmax (0.25, 0.75), and a sigmoid of (0, ln 3) gives (0.5, 0.75).
#include "medseg/loss/compound_loss.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/core/error.h"
#include "medseg/loss/regions.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
constexpr double kDiceSmooth = 1e-5;
const double kLn3 = std::log(3.0);

// Voxel a: logits (0, ln 3), label 1 -> p = (0.25, 0.75). Voxel b: logits (0, 0), label 0.
// CE = (-ln 0.75 - ln 0.5) / 2. Dice of class 1: tp 0.75, sum_pred 1.25, sum_gt 1.
double expected_two_voxels() {
  const double ce = (-std::log(0.75) - std::log(0.5)) / 2;
  const double dc = (1.5 + kDiceSmooth) / (2.25 + kDiceSmooth);
  return ce - dc;
}

TEST(DiceCeLoss, TwoVoxelsByHand) {
  const at::Tensor logits = torch::tensor({0.0, 0.0, kLn3, 0.0}).view({1, 2, 1, 1, 2});
  const at::Tensor target = torch::tensor({1, 0}, torch::kLong).view({1, 1, 1, 1, 2});
  EXPECT_NEAR(dice_ce_loss(logits.to(torch::kFloat), target, {}).item<double>(),
              expected_two_voxels(), 1e-6);
  // The same target without its channel axis, and as uint8.
  EXPECT_NEAR(
      dice_ce_loss(logits.to(torch::kFloat), target.view({1, 1, 1, 2}).to(torch::kUInt8), {})
          .item<double>(),
      expected_two_voxels(), 1e-6);
}

TEST(DiceCeLoss, PerfectPredictionIsMinusOne) {
  // Logits of +-30 are a one-hot softmax in float; CE is ~1e-13.
  const at::Tensor target = torch::tensor({0, 1, 2, 1}, torch::kLong).view({1, 1, 4});
  const at::Tensor logits =
      (torch::one_hot(target.view({1, 4}), 3).permute({0, 2, 1}) * 60 - 30).to(torch::kFloat);
  EXPECT_NEAR(dice_ce_loss(logits, target, {}).item<double>(), -1.0, 1e-6);
}

TEST(DiceCeLoss, IgnoredVoxelsCountInNeitherTerm) {
  // A third voxel labelled 2 (the ignore label), with logits that would cost a lot.
  const at::Tensor logits =
      torch::tensor({0.0, 0.0, 9.0, kLn3, 0.0, -9.0}).view({1, 2, 1, 1, 3}).to(torch::kFloat);
  const at::Tensor target = torch::tensor({1, 0, 2}, torch::kLong).view({1, 1, 1, 1, 3});
  CompoundLossOptions options;
  options.ignore_label = 2;
  EXPECT_NEAR(dice_ce_loss(logits, target, options).item<double>(), expected_two_voxels(), 1e-6);
}

TEST(DiceCeLoss, EverythingIgnoredGivesZeroCeAndDiceOne) {
  const at::Tensor logits = torch::randn({1, 2, 1, 1, 3});
  const at::Tensor target = torch::full({1, 1, 1, 1, 3}, 5, torch::kLong);
  CompoundLossOptions options;
  options.ignore_label = 5;
  EXPECT_NEAR(dice_ce_loss(logits, target, options).item<double>(), -1.0, 1e-7);
}

TEST(DiceCeLoss, BadTargetsAreErrors) {
  const at::Tensor logits = torch::zeros({1, 2, 4, 4});
  try {
    dice_ce_loss(logits, torch::full({1, 1, 4, 4}, 2, torch::kLong), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("target label 2 is outside [0, 2) and is not the ignore label"));
  }
  try {
    dice_ce_loss(logits, torch::zeros({1, 1, 4, 5}, torch::kLong), {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("target of shape [1, 1, 4, 5] does not match logits of shape "
                                    "[1, 2, 4, 4]"));
  }
  EXPECT_THROW(dice_ce_loss(logits, torch::zeros({1, 1, 4, 4}), {}), Error);  // float labels
}

TEST(DiceCeLoss, GradientReachesTheLogits) {
  const at::Tensor logits = torch::randn({2, 3, 4, 4}, torch::requires_grad());
  const at::Tensor target = torch::randint(0, 3, {2, 1, 4, 4}, torch::kLong);
  dice_ce_loss(logits, target, {}).backward();
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);
}

TEST(DiceBceLoss, OneRegionTwoVoxelsByHand) {
  // Sigmoid (0.5, 0.75), target (0, 1): BCE = (-ln 0.5 - ln 0.75) / 2 and the same Dice.
  const at::Tensor logits = torch::tensor({0.0, kLn3}).view({1, 1, 1, 2}).to(torch::kFloat);
  const at::Tensor target = torch::tensor({false, true}).view({1, 1, 1, 2});
  EXPECT_NEAR(dice_bce_loss(logits, target, {}).item<double>(), expected_two_voxels(), 1e-6);
}

TEST(DiceBceLoss, IgnoreChannelMasksVoxels) {
  // Labels (0, 1, 9): region {1}; 9 is the ignore label.
  const at::Tensor labels = torch::tensor({0, 1, 9}, torch::kLong).view({1, 1, 1, 3});
  CompoundLossOptions options;
  options.ignore_label = 9;
  const at::Tensor target = labels_to_regions(labels, {{1}}, options.ignore_label);
  const at::Tensor logits = torch::tensor({0.0, kLn3, -7.0}).view({1, 1, 1, 3}).to(torch::kFloat);
  EXPECT_NEAR(dice_bce_loss(logits, target, options).item<double>(), expected_two_voxels(), 1e-6);
}

TEST(DiceBceLoss, WithAnIgnoreLabelTheBceTermSumsTheRegionMeansAsTheReference) {
  // The reference's DC_and_BCE_loss divides the masked BCE by the annotated voxels only: with
  // an ignore label declared (even unused) its BCE term is R times the plain mean over R regions.
  torch::manual_seed(0);
  const at::Tensor labels = torch::randint(0, 3, {2, 1, 4, 4}, torch::kLong);
  const at::Tensor logits = torch::randn({2, 2, 4, 4});
  const std::vector<std::vector<int>> regions{{1, 2}, {2}};
  CompoundLossOptions bce_only;
  bce_only.weight_dice = 0.0;
  CompoundLossOptions with_ignore = bce_only;
  with_ignore.ignore_label = 3;
  const double plain =
      dice_bce_loss(logits, labels_to_regions(labels, regions), bce_only).item<double>();
  EXPECT_NEAR(
      dice_bce_loss(logits, labels_to_regions(labels, regions, 3), with_ignore).item<double>(),
      2.0 * plain, 1e-5);
  // And the Dice term is the same either way.
  CompoundLossOptions dice_only;
  dice_only.weight_ce = 0.0;
  CompoundLossOptions dice_with_ignore = dice_only;
  dice_with_ignore.ignore_label = 3;
  EXPECT_NEAR(
      dice_bce_loss(logits, labels_to_regions(labels, regions, 3), dice_with_ignore).item<double>(),
      dice_bce_loss(logits, labels_to_regions(labels, regions), dice_only).item<double>(), 1e-6);
}

TEST(DiceBceLoss, TargetChannelsAreChecked) {
  CompoundLossOptions options;
  options.ignore_label = 4;
  try {
    dice_bce_loss(torch::zeros({1, 2, 4, 4}), torch::zeros({1, 2, 4, 4}), options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected [1, 3, 4, 4] (one channel per region + the ignore "
                                    "mask last)"));
  }
}

}  // namespace
}  // namespace medseg
