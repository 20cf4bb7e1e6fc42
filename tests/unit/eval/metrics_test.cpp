#include "medseg/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "unit/eval/box_mask.h"

namespace medseg {
namespace {

using testing::box_mask;

TEST(Overlap, CountsDiceAndIouOnALine) {
  // ref = voxels 0..5, pred = 3..8 of 10: TP 3, FP 3, FN 3, TN 1.
  const VolumeShape s{1, 1, 10};
  const auto ref = box_mask(s, {{0, 0, 0}, {1, 1, 6}});
  const auto pred = box_mask(s, {{0, 0, 3}, {1, 1, 9}});
  const OverlapCounts c = count_overlap(ref.data(), pred.data(), s);
  EXPECT_EQ(c.tp, 3);
  EXPECT_EQ(c.fp, 3);
  EXPECT_EQ(c.fn, 3);
  EXPECT_EQ(c.tn, 1);
  EXPECT_EQ(c.n_ref, 6);
  EXPECT_EQ(c.n_pred, 6);
  EXPECT_DOUBLE_EQ(dice(c), 0.5);
  EXPECT_DOUBLE_EQ(iou(c), 1.0 / 3.0);
}

// 3x3x3 cubes, the prediction shifted by one voxel along x (isotropic 1 mm). Each surface has
// 26 voxels: per direction the 9 voxels of the outer face are 1 mm away, the one voxel that
// lies on the other cube's centre is 1 mm away, and the other 16 lie on the other surface.
TEST(LabelMetrics, CubeShiftedAlongXIsotropic) {
  const VolumeShape s{10, 10, 10};
  const auto ref = box_mask(s, {{2, 2, 2}, {5, 5, 5}});
  const auto pred = box_mask(s, {{2, 2, 3}, {5, 5, 6}});
  const LabelMetrics m = compute_label_metrics(ref.data(), pred.data(), s, {1, 1, 1}, 1.0);
  EXPECT_EQ(m.counts.tp, 18);
  EXPECT_DOUBLE_EQ(m.dice, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.iou, 0.5);
  EXPECT_DOUBLE_EQ(m.hd, 1.0);
  EXPECT_DOUBLE_EQ(m.hd95, 1.0);  // sorted: 16 zeros then 10 ones; rank 23.75 is a one
  EXPECT_DOUBLE_EQ(m.assd, 20.0 / 52.0);
  EXPECT_DOUBLE_EQ(m.nsd, 1.0);
  EXPECT_DOUBLE_EQ(m.nsd_tolerance_mm, 1.0);
  EXPECT_DOUBLE_EQ(compute_label_metrics(ref.data(), pred.data(), s, {1, 1, 1}, 0.5).nsd,
                   32.0 / 52.0);
  EXPECT_DOUBLE_EQ(m.volume_ref_mm3, 27.0);
  EXPECT_DOUBLE_EQ(m.abs_volume_diff_mm3, 0.0);
  EXPECT_DOUBLE_EQ(m.rel_volume_diff, 0.0);
}

// The same cubes shifted along z with spacing (3, 1, 1): the outer faces are 3 mm away, but
// the voxel on the other cube's centre is 1 mm (in-plane) from that cube's side faces.
// Per direction: 16 zeros, one 1 mm, nine 3 mm.
TEST(LabelMetrics, CubeShiftedAlongZAnisotropic) {
  const VolumeShape s{10, 10, 10};
  const auto ref = box_mask(s, {{2, 2, 2}, {5, 5, 5}});
  const auto pred = box_mask(s, {{3, 2, 2}, {6, 5, 5}});
  const Spacing3 spacing{3, 1, 1};
  const LabelMetrics m = compute_label_metrics(ref.data(), pred.data(), s, spacing, 1.0);
  EXPECT_DOUBLE_EQ(m.dice, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.hd, 3.0);
  EXPECT_DOUBLE_EQ(m.hd95, 3.0);
  EXPECT_DOUBLE_EQ(m.assd, 2 * (27.0 + 1.0) / 52.0);
  EXPECT_DOUBLE_EQ(m.nsd, 34.0 / 52.0);
  EXPECT_DOUBLE_EQ(compute_label_metrics(ref.data(), pred.data(), s, spacing, 3.0).nsd, 1.0);
  EXPECT_DOUBLE_EQ(m.volume_ref_mm3, 81.0);
  EXPECT_DOUBLE_EQ(m.volume_pred_mm3, 81.0);
}

// Ten voxels on a line against the same line shifted by 1: HD95 interpolates between ranks.
// ref = x 0..9, pred = x 1..10 in the middle slice of 3x1x12, so every voxel is surface (z
// neighbours are background). ref->pred: x=0 is 1 mm, the rest 0; pred->ref: x=10 is 1 mm.
// Each direction: 9 zeros and one 1, rank 9 * 0.95 = 8.55 -> 0.55.
TEST(LabelMetrics, Hd95InterpolatesLinearly) {
  const VolumeShape s{3, 1, 12};
  const auto ref = box_mask(s, {{1, 0, 0}, {2, 1, 10}});
  const auto pred = box_mask(s, {{1, 0, 1}, {2, 1, 11}});
  const LabelMetrics m = compute_label_metrics(ref.data(), pred.data(), s, {1, 1, 1}, 0.5);
  EXPECT_DOUBLE_EQ(m.dice, 0.9);
  EXPECT_NEAR(m.hd95, 0.55, 1e-12);
  EXPECT_DOUBLE_EQ(m.hd, 1.0);
  EXPECT_DOUBLE_EQ(m.assd, 2.0 / 20.0);
  EXPECT_DOUBLE_EQ(m.nsd, 18.0 / 20.0);
}

TEST(LabelMetrics, SingleVoxels) {
  const VolumeShape s{5, 5, 5};
  const auto ref = box_mask(s, {{1, 1, 1}, {2, 2, 2}});
  const auto pred = box_mask(s, {{2, 3, 1}, {3, 4, 2}});  // 1 voxel along z, 2 along y
  const Spacing3 spacing{2, 1, 1};
  const LabelMetrics far = compute_label_metrics(ref.data(), pred.data(), s, spacing, 1.0);
  EXPECT_DOUBLE_EQ(far.dice, 0.0);
  EXPECT_DOUBLE_EQ(far.iou, 0.0);
  EXPECT_DOUBLE_EQ(far.hd95, std::sqrt(8.0));
  EXPECT_DOUBLE_EQ(far.hd, std::sqrt(8.0));
  EXPECT_DOUBLE_EQ(far.assd, std::sqrt(8.0));
  EXPECT_DOUBLE_EQ(far.nsd, 0.0);
  EXPECT_DOUBLE_EQ(compute_label_metrics(ref.data(), pred.data(), s, spacing, 3.0).nsd, 1.0);

  const LabelMetrics same = compute_label_metrics(ref.data(), ref.data(), s, spacing, 1.0);
  EXPECT_DOUBLE_EQ(same.dice, 1.0);
  EXPECT_DOUBLE_EQ(same.hd95, 0.0);
  EXPECT_DOUBLE_EQ(same.assd, 0.0);
  EXPECT_DOUBLE_EQ(same.nsd, 1.0);
  EXPECT_DOUBLE_EQ(same.volume_ref_mm3, 2.0);
}

TEST(LabelMetrics, BothEmptyIsNaN) {
  const VolumeShape s{2, 3, 4};
  const std::vector<uint8_t> empty(24, 0);
  const LabelMetrics m = compute_label_metrics(empty.data(), empty.data(), s, {1, 1, 1}, 1.0);
  for (double v : {m.dice, m.iou, m.hd95, m.hd, m.assd, m.nsd, m.rel_volume_diff})
    EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(m.counts.tn, 24);
  EXPECT_DOUBLE_EQ(m.abs_volume_diff_mm3, 0.0);
}

// Image 4x5x6 at spacing (2, 1, 0.5): diagonal sqrt(6^2 + 4^2 + 2.5^2).
TEST(LabelMetrics, EmptyPredictionScoresTheImageDiagonal) {
  const VolumeShape s{4, 5, 6};
  const Spacing3 spacing{2, 1, 0.5};
  const auto ref = box_mask(s, {{1, 1, 1}, {3, 3, 3}});
  const std::vector<uint8_t> empty(s.size(), 0);
  const double diagonal = std::sqrt(36.0 + 16.0 + 6.25);
  EXPECT_DOUBLE_EQ(image_diagonal_mm(s, spacing), diagonal);
  const LabelMetrics m = compute_label_metrics(ref.data(), empty.data(), s, spacing, 1.0);
  EXPECT_DOUBLE_EQ(m.dice, 0.0);
  EXPECT_DOUBLE_EQ(m.iou, 0.0);
  EXPECT_DOUBLE_EQ(m.nsd, 0.0);
  EXPECT_DOUBLE_EQ(m.hd95, diagonal);
  EXPECT_DOUBLE_EQ(m.hd, diagonal);
  EXPECT_DOUBLE_EQ(m.assd, diagonal);
  EXPECT_DOUBLE_EQ(m.volume_ref_mm3, 8.0);
  EXPECT_DOUBLE_EQ(m.abs_volume_diff_mm3, 8.0);
  EXPECT_DOUBLE_EQ(m.rel_volume_diff, -1.0);
}

// A label that only the prediction contains (a false positive structure).
TEST(LabelMetrics, LabelOnlyInPrediction) {
  const VolumeShape s{4, 5, 6};
  const Spacing3 spacing{2, 1, 0.5};
  const std::vector<uint8_t> empty(s.size(), 0);
  const auto pred = box_mask(s, {{0, 0, 0}, {1, 1, 3}});
  const LabelMetrics m = compute_label_metrics(empty.data(), pred.data(), s, spacing, 1.0);
  EXPECT_DOUBLE_EQ(m.dice, 0.0);
  EXPECT_DOUBLE_EQ(m.nsd, 0.0);
  EXPECT_DOUBLE_EQ(m.hd95, std::sqrt(58.25));
  EXPECT_EQ(m.counts.fp, 3);
  EXPECT_DOUBLE_EQ(m.volume_pred_mm3, 3.0);
  EXPECT_DOUBLE_EQ(m.abs_volume_diff_mm3, 3.0);
  EXPECT_TRUE(std::isnan(m.rel_volume_diff));
}

}  // namespace
}  // namespace medseg
