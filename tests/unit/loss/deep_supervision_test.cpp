#include "medseg/loss/deep_supervision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/loss/segmentation_loss.h"

namespace medseg {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;

TEST(DeepSupervisionWeights, HalveDropTheLowestAndSumToOne) {
  // 3 outputs: (1, 1/2, 0) / 1.5.
  EXPECT_THAT(deep_supervision_weights(3), ElementsAre(DoubleEq(2.0 / 3), DoubleEq(1.0 / 3), 0.0));
  // 4 outputs: (1, 1/2, 1/4, 0) / 1.75.
  EXPECT_THAT(deep_supervision_weights(4),
              ElementsAre(DoubleEq(4.0 / 7), DoubleEq(2.0 / 7), DoubleEq(1.0 / 7), 0.0));
  EXPECT_THAT(deep_supervision_weights(1), ElementsAre(1.0));
  EXPECT_THROW(deep_supervision_weights(0), Error);
}

TEST(DeepSupervisionScales, CumulativeInverseStridesWithoutTheBottleneck) {
  const auto scales = deep_supervision_scales({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}, {2, 2, 2}});
  const std::vector<std::vector<double>> expected{{1, 1, 1}, {1, 0.5, 0.5}, {0.5, 0.25, 0.25}};
  EXPECT_EQ(scales, expected);
}

TEST(DownsampleTargets, NearestExactPicksTheSecondOfEachPair) {
  // 'nearest-exact' at scale 1/2 samples source index floor((i + 0.5) * 2) = 2 i + 1.
  const at::Tensor target = torch::arange(16, torch::kUInt8).view({1, 1, 4, 4});
  const auto out = downsample_targets(target, {{1, 1}, {0.5, 0.5}, {1, 0.25}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].is_same(target));
  EXPECT_EQ(out[1].scalar_type(), torch::kUInt8);
  EXPECT_TRUE(
      torch::equal(out[1], torch::tensor({5, 7, 13, 15}, torch::kUInt8).view({1, 1, 2, 2})));
  // Scale 1/4 along x picks index floor(0.5 * 4) = 2.
  EXPECT_TRUE(
      torch::equal(out[2], torch::tensor({2, 6, 10, 14}, torch::kUInt8).view({1, 1, 4, 1})));
}

TEST(DownsampleTargets, OneSampleWithoutBatchAxisAndBoolRegions) {
  at::Tensor regions = torch::zeros({2, 4, 4, 4}, torch::kBool);
  regions.index_put_({1, 1, 1, 1}, true);
  const auto out = downsample_targets(regions, {{0.5, 0.5, 0.5}});
  ASSERT_EQ(out[0].sizes(), (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(out[0].scalar_type(), torch::kBool);
  EXPECT_TRUE(out[0][1][0][0][0].item<bool>());
  EXPECT_EQ(out[0].sum().item<int64_t>(), 1);
  EXPECT_THROW(downsample_targets(torch::zeros({4, 4}), {{0.5, 0.5, 0.5}}), Error);
}

TEST(SegmentationLoss, WeightsEachOutputsLossAndSkipsTheLowest) {
  torch::manual_seed(0);
  const at::Tensor target = torch::randint(0, 3, {2, 1, 8, 8}, torch::kLong);
  const auto targets = downsample_targets(target, {{1, 1}, {0.5, 0.5}, {0.25, 0.25}});
  const std::vector<at::Tensor> outputs{torch::randn({2, 3, 8, 8}), torch::randn({2, 3, 4, 4}),
                                        torch::randn({2, 3, 2, 2})};
  SegmentationLossOptions options;
  options.terms.batch_dice = true;
  const SegmentationLoss loss(options, 3);
  const double expected = 2.0 / 3 * loss.single(outputs[0], targets[0]).item<double>() +
                          1.0 / 3 * loss.single(outputs[1], targets[1]).item<double>();
  EXPECT_NEAR(loss(outputs, targets).item<double>(), expected, 1e-6);
  EXPECT_THROW(loss({outputs[0]}, {targets[0]}), Error);
}

TEST(SegmentationLoss, RegionBasedUsesDiceBce) {
  torch::manual_seed(0);
  SegmentationLossOptions options;
  options.region_based = true;
  const SegmentationLoss loss(options, 1);
  const at::Tensor logits = torch::randn({1, 2, 4, 4});
  const at::Tensor target = torch::rand({1, 2, 4, 4}) > 0.5;
  EXPECT_NEAR(loss({logits}, {target}).item<double>(),
              dice_bce_loss(logits, target, options.terms).item<double>(), 1e-7);
}

}  // namespace
}  // namespace medseg
