#include "medseg/eval/metrics.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "medseg/eval/surface_distance.h"

namespace medseg {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

OverlapCounts count_overlap(const uint8_t* ref, const uint8_t* pred, const VolumeShape& shape) {
  const int64_t n = shape.size();
  int64_t tp = 0, n_ref = 0, n_pred = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int r = ref[i] != 0, p = pred[i] != 0;
    tp += r & p;
    n_ref += r;
    n_pred += p;
  }
  OverlapCounts c;
  c.tp = tp;
  c.fp = n_pred - tp;
  c.fn = n_ref - tp;
  c.tn = n - n_ref - n_pred + tp;
  c.n_ref = n_ref;
  c.n_pred = n_pred;
  return c;
}

double dice(const OverlapCounts& c) {
  const int64_t denominator = 2 * c.tp + c.fp + c.fn;
  return denominator == 0 ? kNaN : 2.0 * static_cast<double>(c.tp) / denominator;
}

double iou(const OverlapCounts& c) {
  const int64_t denominator = c.tp + c.fp + c.fn;
  return denominator == 0 ? kNaN : static_cast<double>(c.tp) / denominator;
}

double image_diagonal_mm(const VolumeShape& shape, const Spacing3& spacing) {
  const double dz = (shape.z - 1) * spacing[0], dy = (shape.y - 1) * spacing[1],
               dx = (shape.x - 1) * spacing[2];
  return std::sqrt(dz * dz + dy * dy + dx * dx);
}

LabelMetrics compute_label_metrics(const uint8_t* ref, const uint8_t* pred,
                                   const VolumeShape& shape, const Spacing3& spacing,
                                   double nsd_tolerance_mm) {
  LabelMetrics m;
  m.counts = count_overlap(ref, pred, shape);
  m.dice = dice(m.counts);
  m.iou = iou(m.counts);
  m.nsd_tolerance_mm = nsd_tolerance_mm;
  const double voxel_mm3 = spacing[0] * spacing[1] * spacing[2];
  m.volume_ref_mm3 = static_cast<double>(m.counts.n_ref) * voxel_mm3;
  m.volume_pred_mm3 = static_cast<double>(m.counts.n_pred) * voxel_mm3;
  m.abs_volume_diff_mm3 = std::abs(m.volume_pred_mm3 - m.volume_ref_mm3);
  m.rel_volume_diff = m.counts.n_ref == 0 ? kNaN
                                          : static_cast<double>(m.counts.n_pred - m.counts.n_ref) /
                                                static_cast<double>(m.counts.n_ref);

  const bool ref_empty = m.counts.n_ref == 0, pred_empty = m.counts.n_pred == 0;
  if (ref_empty && pred_empty) {
    m.hd95 = m.hd = m.assd = m.nsd = kNaN;
  } else if (ref_empty || pred_empty) {
    m.hd95 = m.hd = m.assd = image_diagonal_mm(shape, spacing);
    m.nsd = 0.0;
  } else {
    const SurfaceScores s =
        score_surface_distances(surface_distances(ref, pred, shape, spacing), nsd_tolerance_mm);
    m.hd95 = s.hd95;
    m.hd = s.hd;
    m.assd = s.assd;
    m.nsd = s.nsd;
  }
  return m;
}

double mean_ignoring_nan(const std::vector<double>& values) {
  double sum = 0;
  int n = 0;
  for (const double v : values)
    if (!std::isnan(v)) sum += v, ++n;
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / n;
}

}  // namespace medseg
