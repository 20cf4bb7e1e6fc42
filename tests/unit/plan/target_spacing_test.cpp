#include "medseg/plan/target_spacing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/plan/percentile.h"
#include "medseg/preprocess/resampling.h"

namespace medseg {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;

DatasetFingerprint spacing_fingerprint(std::vector<std::vector<double>> spacings,
                                       std::vector<std::vector<int64_t>> shapes) {
  DatasetFingerprint f;
  f.spacings = std::move(spacings);
  f.shapes_after_crop = std::move(shapes);
  f.foreground_intensity_properties_per_channel.resize(1);
  return f;
}

TEST(Percentile, LinearInterpolationAsNumpy) {
  EXPECT_DOUBLE_EQ(percentile({4, 5, 5, 5, 6}, 10), 4.4);  // index 0.4 between 4 and 5
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({7}, 99.5), 7);
  EXPECT_DOUBLE_EQ(median({1, 4, 2, 3}), 2.5);
  EXPECT_THAT(percentile_per_axis({{1, 10}, {3, 30}}, 50), ElementsAre(2, 20));
}

TEST(TargetSpacing, MedianWhenNotAnisotropic) {
  // CT-like: (1.0, 0.8, 0.8) mm; 1.0 is not > 3 x 0.8, so the medians stay.
  const auto f = spacing_fingerprint({{1.0, 0.8, 0.8}, {1.0, 0.8, 0.8}, {2.0, 0.7, 0.7}},
                                     {{300, 512, 512}, {290, 512, 512}, {150, 512, 512}});
  EXPECT_THAT(fullres_target_spacing(f), ElementsAre(1.0, 0.8, 0.8));
}

TEST(TargetSpacing, TenthPercentileForAnAnisotropicAxisWithFewSlices) {
  // z spacings 4 5 5 5 6 mm: median 5 > 3 x 0.7 and 20 slices x 3 < 256 voxels, so z takes the
  // 10th percentile of its spacings: 4 + 0.4 x (5 - 4) = 4.4.
  const auto f = spacing_fingerprint(
      {{4, 0.7, 0.7}, {5, 0.7, 0.7}, {5, 0.7, 0.7}, {5, 0.7, 0.7}, {6, 0.7, 0.7}},
      std::vector<std::vector<int64_t>>(5, {20, 256, 256}));
  const auto s = fullres_target_spacing(f);
  EXPECT_NEAR(s[0], 4.4, 1e-12);
  EXPECT_THAT(s[1], DoubleEq(0.7));
}

TEST(TargetSpacing, AnisotropicSpacingWithManySlicesKeepsTheMedian) {
  // 100 slices x 3 = 300 is not < 256: the voxel condition fails.
  const auto f = spacing_fingerprint({{4, 0.7, 0.7}, {5, 0.7, 0.7}, {6, 0.7, 0.7}},
                                     std::vector<std::vector<int64_t>>(3, {100, 256, 256}));
  EXPECT_THAT(fullres_target_spacing(f), ElementsAre(5, DoubleEq(0.7), DoubleEq(0.7)));
}

TEST(TargetSpacing, TenthPercentileNeverBelowTheOtherAxes) {
  // 10th percentile of 0.5 0.5 5 5 5 is 0.5 < 1.5 (in-plane): z becomes 1.5 + 1e-5.
  const auto f = spacing_fingerprint(
      {{0.5, 1.5, 1.5}, {0.5, 1.5, 1.5}, {5, 1.5, 1.5}, {5, 1.5, 1.5}, {5, 1.5, 1.5}},
      std::vector<std::vector<int64_t>>(5, {20, 256, 256}));
  EXPECT_NEAR(fullres_target_spacing(f)[0], 1.5 + 1e-5, 1e-12);
}

TEST(TargetSpacing, TransposeMovesTheCoarsestAxisFirst) {
  AxisTranspose t = transpose_for_spacing({0.8, 3.0, 0.8});
  EXPECT_THAT(t.forward, ElementsAre(1, 0, 2));
  EXPECT_THAT(t.backward, ElementsAre(1, 0, 2));
  t = transpose_for_spacing({1, 1, 5});
  EXPECT_THAT(t.forward, ElementsAre(2, 0, 1));
  EXPECT_THAT(t.backward, ElementsAre(1, 2, 0));
  t = transpose_for_spacing({1, 1, 1});  // ties: the first axis
  EXPECT_THAT(t.forward, ElementsAre(0, 1, 2));
}

TEST(TargetSpacing, NewShapeRoundsHalfToEven) {
  // 5 x 0.5 = 2.5 -> 2, 7 x 0.5 = 3.5 -> 4, 10 x 2 / 3 = 6.67 -> 7.
  EXPECT_THAT(compute_new_shape({5, 7, 10}, {1, 1, 2}, {2, 2, 3}), ElementsAre(2, 4, 7));
}

}  // namespace
}  // namespace medseg
