// Segmentation metrics of one label on one case: pure functions on binary masks (0/1 per voxel,
// C-contiguous z * y * x, x fastest) with their spacing in mm. No file access; the folder walk
// lives in eval/evaluator.h.
//
// Empty masks (no voxel of the label in the reference and/or the prediction):
//   both empty -> Dice, IoU, HD95, HD, ASSD and NSD are NaN: there is nothing to score, and
//                 means skip NaN (as the reference system does for Dice);
//   one empty  -> Dice 0, IoU 0, NSD 0, and HD95 = HD = ASSD = the image diagonal (the
//                 largest distance between two voxel centres, sqrt(sum(((n_i - 1) s_i)^2))),
//                 the worst score a non-empty prediction could get, finite so means stay usable.
// Relative volume difference is NaN whenever the reference is empty.
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/eval/volume_shape.h"

namespace medseg {

struct OverlapCounts {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  int64_t n_ref = 0, n_pred = 0;  // voxels in the reference / prediction (tp + fn / tp + fp)
};

OverlapCounts count_overlap(const uint8_t* ref, const uint8_t* pred, const VolumeShape& shape);

// 2 TP / (2 TP + FP + FN); NaN when both masks are empty.
double dice(const OverlapCounts& counts);
// TP / (TP + FP + FN); NaN when both masks are empty.
double iou(const OverlapCounts& counts);

// The largest distance between two voxel centres of the image, in mm.
double image_diagonal_mm(const VolumeShape& shape, const Spacing3& spacing);

struct LabelMetrics {
  OverlapCounts counts;
  double dice = 0, iou = 0;
  double hd95 = 0, hd = 0, assd = 0;  // mm
  double nsd = 0;                     // normalized surface distance (surface Dice) at tolerance
  double nsd_tolerance_mm = 0;
  double volume_ref_mm3 = 0, volume_pred_mm3 = 0;
  double abs_volume_diff_mm3 = 0;  // |volume_pred - volume_ref|
  double rel_volume_diff = 0;      // (n_pred - n_ref) / n_ref; NaN when n_ref = 0
};

// Every metric above for one label, with the empty-mask rules of this header.
LabelMetrics compute_label_metrics(const uint8_t* ref, const uint8_t* pred,
                                   const VolumeShape& shape, const Spacing3& spacing,
                                   double nsd_tolerance_mm);

// The mean of the values that are not NaN; NaN when every value is (or there is none). Used for
// every "mean over cases / classes" of the evaluation, the pseudo-Dice and postprocessing.
double mean_ignoring_nan(const std::vector<double>& values);

}  // namespace medseg
