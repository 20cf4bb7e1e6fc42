#include "medseg/data/deep_supervision_targets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

TEST(DeepSupervisionTargets, ScalesAreCumulativeStridesWithoutTheLastStage) {
  const auto scales = target_scales_from_strides({{1, 1, 1}, {2, 2, 2}, {2, 2, 1}, {2, 2, 2}});
  ASSERT_EQ(scales.size(), 3u);
  EXPECT_EQ(scales[0], (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(scales[1], (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(scales[2], (std::vector<double>{0.25, 0.25, 0.5}));
  try {
    target_scales_from_strides({{1, 1}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("need at least 2 stages of strides, got 1"));
  }
}

TEST(DeepSupervisionTargets, DownsamplesWithNearestExact) {
  const at::Tensor labels = torch::arange(2 * 8 * 4, torch::kShort).view({2, 1, 8, 4});
  const auto targets = downsample_label_batch(labels, {{1, 1}, {0.5, 0.5}, {0.25, 0.5}});
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_TRUE(targets[0].is_same(labels));
  // Factor 2: output o reads floor((o + 0.5) * 2) = 2o + 1.
  EXPECT_TRUE(torch::equal(targets[1], labels.slice(2, 1, 8, 2).slice(3, 1, 4, 2)));
  // Factor 4 on axis 0: 4o + 2.
  EXPECT_TRUE(torch::equal(targets[2], labels.slice(2, 2, 8, 4).slice(3, 1, 4, 2)));
  EXPECT_EQ(targets[2].scalar_type(), torch::kShort);
  // An odd size rounds half to even: 5 * 0.5 = 2.5 -> 2, reading floor((o + 0.5) * 2.5).
  const auto odd = downsample_label_batch(torch::arange(5, torch::kLong).view({1, 1, 5, 1}), {{0.5, 1}});
  EXPECT_TRUE(torch::equal(odd[0].flatten(), torch::tensor({1, 3}, torch::kLong)));
}

}  // namespace
}  // namespace medseg
