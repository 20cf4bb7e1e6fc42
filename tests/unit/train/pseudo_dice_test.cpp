#include "medseg/train/pseudo_dice.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/train/learning_rate.h"

namespace medseg {
namespace {

// Logits whose argmax is `labels` (batch, 1, spatial) for `classes` outputs.
at::Tensor logits_for(const at::Tensor& labels, int64_t classes) {
  return torch::one_hot(labels.squeeze(1).to(torch::kLong), classes).permute({0, 4, 1, 2, 3}).to(torch::kFloat) * 5;
}

TEST(PseudoDice, CountsTruePositivesFalsePositivesAndNegativesPerForegroundClass) {
  // 1 x 1 x 1 x 2 x 4 voxels. reference: 0 1 1 2 | 2 2 0 0; prediction: 0 1 2 2 | 2 0 1 0
  const auto ref = torch::tensor({0, 1, 1, 2, 2, 2, 0, 0}, torch::kShort).view({1, 1, 1, 2, 4});
  const auto pred = torch::tensor({0, 1, 2, 2, 2, 0, 1, 0}, torch::kShort).view({1, 1, 1, 2, 4});
  PseudoDice dice;
  dice.add(logits_for(pred, 3), ref);
  // class 1: TP 1 (voxel 1), FP 1 (voxel 6), FN 1 (voxel 2) -> 2/4
  // class 2: TP 2 (3, 4), FP 1 (2), FN 1 (5) -> 4/6
  EXPECT_THAT(dice.per_class(), ::testing::ElementsAre(::testing::DoubleEq(0.5), ::testing::DoubleEq(4.0 / 6)));
  // Global sums over batches: the same batch again leaves the ratios unchanged; a perfect
  // batch of class 1 (2 voxels) adds TP 2 -> 2 * 3 / (2 * 3 + 1 + 1) = 0.75.
  dice.add(logits_for(pred, 3), ref);
  const auto perfect = torch::tensor({1, 1, 0, 0, 0, 0, 0, 0}, torch::kShort).view({1, 1, 1, 2, 4});
  dice.add(logits_for(perfect, 3), perfect);
  EXPECT_DOUBLE_EQ(dice.per_class()[0], 2.0 * 4 / (2.0 * 4 + 2 + 2));
  dice.reset();
  EXPECT_TRUE(dice.per_class().empty());
}

TEST(PseudoDice, AbsentClassIsNanAndIgnoredVoxelsCountForNothing) {
  const auto ref = torch::tensor({0, 1, 9, 9}, torch::kShort).view({1, 1, 1, 1, 4});
  const auto pred = torch::tensor({0, 1, 1, 0}, torch::kShort).view({1, 1, 1, 1, 4});
  PseudoDice dice({}, /*ignore_label=*/9);
  dice.add(logits_for(pred, 3), ref);
  const auto d = dice.per_class();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_DOUBLE_EQ(d[0], 1.0);  // the prediction of 1 on an ignored voxel is no false positive
  EXPECT_TRUE(std::isnan(d[1]));
  EXPECT_DOUBLE_EQ(mean_ignoring_nan(d), 1.0);
}

TEST(PseudoDice, RegionsUseSigmoidAboveOneHalf) {
  // regions {1, 2} and {2}; labels 0 1 2 2; logits > 0 marks the predicted voxels.
  const auto ref = torch::tensor({0, 1, 2, 2}, torch::kShort).view({1, 1, 1, 1, 4});
  const auto logits = torch::tensor({-1.f, 1.f, 1.f, -1.f,    // region 0: predicted at 1, 2
                                     1.f, -1.f, 1.f, 1.f})   // region 1: predicted at 0, 2, 3
                          .view({1, 2, 1, 1, 4});
  PseudoDice dice({{1, 2}, {2}});
  dice.add(logits, ref);
  // region 0: ref at 1, 2, 3 -> TP 2, FN 1 -> 4/5; region 1: ref at 2, 3 -> TP 2, FP 1 -> 4/5
  EXPECT_THAT(dice.per_class(), ::testing::ElementsAre(::testing::DoubleEq(0.8), ::testing::DoubleEq(0.8)));
}

TEST(PseudoDice, MovingAverageStartsAtTheFirstValue) {
  const double nan = std::nan("");
  EXPECT_DOUBLE_EQ(update_ema(nan, 0.6, 0.9), 0.6);
  EXPECT_DOUBLE_EQ(update_ema(0.6, 0.8, 0.9), 0.9 * 0.6 + 0.1 * 0.8);
  EXPECT_DOUBLE_EQ(update_ema(0.6, nan, 0.9), 0.6);
  EXPECT_TRUE(std::isnan(mean_ignoring_nan({nan, nan})));
}

TEST(LearningRate, PolySchedule) {
  EXPECT_DOUBLE_EQ(poly_learning_rate(0.01, 0, 1000), 0.01);
  EXPECT_DOUBLE_EQ(poly_learning_rate(0.01, 500, 1000), 0.01 * std::pow(0.5, 0.9));
  EXPECT_NEAR(poly_learning_rate(0.01, 999, 1000), 0.01 * std::pow(0.001, 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(poly_learning_rate(0.1, 1, 4, 1.0), 0.075);
}

}  // namespace
}  // namespace medseg
