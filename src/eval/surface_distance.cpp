#include "medseg/eval/surface_distance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "medseg/eval/distance_transform.h"

namespace medseg {

namespace {

// Surface of `mask` inside `box`, written crop-local (box.shape()). Every nonzero voxel of the
// mask lies in the box, so a neighbour outside the box is background (or outside the image).
std::vector<uint8_t> surface_in_box(const uint8_t* mask, const VolumeShape& shape,
                                    const VoxelBox& box) {
  const VolumeShape crop = box.shape();
  std::vector<uint8_t> out(static_cast<size_t>(crop.size()), 0);
  const bool has_z = shape.z > 1, has_y = shape.y > 1, has_x = shape.x > 1;
  const int64_t sy = shape.x, sz = shape.y * shape.x;
  const auto [z0, y0, x0] = box.lo;
  const auto [z1, y1, x1] = box.hi;
  uint8_t* o = out.data();
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = y0; y < y1; ++y) {
      const uint8_t* row = mask + shape.index(z, y, 0);
      for (int64_t x = x0; x < x1; ++x, ++o) {
        if (!row[x]) continue;
        bool surface = false;
        if (has_x) surface = x == x0 || x + 1 == x1 || !row[x - 1] || !row[x + 1];
        if (has_y && !surface) surface = y == y0 || y + 1 == y1 || !row[x - sy] || !row[x + sy];
        if (has_z && !surface) surface = z == z0 || z + 1 == z1 || !row[x - sz] || !row[x + sz];
        *o = surface ? 1 : 0;
      }
    }
  return out;
}

// sqrt(squared_distances) at every nonzero voxel of `query`, in memory order.
std::vector<double> distances_at(const std::vector<uint8_t>& query, const double* squared) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(std::count(query.begin(), query.end(), uint8_t{1})));
  for (size_t i = 0; i < query.size(); ++i)
    if (query[i]) out.push_back(std::sqrt(squared[i]));
  return out;
}

}  // namespace

std::vector<uint8_t> surface_mask(const uint8_t* mask, const VolumeShape& shape) {
  const VoxelBox whole{{0, 0, 0}, {shape.z, shape.y, shape.x}};
  return surface_in_box(mask, shape, whole);
}

VoxelBox union_bounding_box(const uint8_t* a, const uint8_t* b, const VolumeShape& shape) {
  VoxelBox box{{shape.z, shape.y, shape.x}, {0, 0, 0}};
  for (int64_t z = 0; z < shape.z; ++z)
    for (int64_t y = 0; y < shape.y; ++y) {
      const int64_t row = shape.index(z, y, 0);
      int64_t first = -1, last = -1;
      for (int64_t x = 0; x < shape.x; ++x)
        if (a[row + x] | b[row + x]) {
          if (first < 0) first = x;
          last = x;
        }
      if (first < 0) continue;
      box.lo = {std::min(box.lo[0], z), std::min(box.lo[1], y), std::min(box.lo[2], first)};
      box.hi = {std::max(box.hi[0], z + 1), std::max(box.hi[1], y + 1),
                std::max(box.hi[2], last + 1)};
    }
  if (box.empty()) return VoxelBox{};
  return box;
}

SurfaceDistances surface_distances(const uint8_t* ref, const uint8_t* pred,
                                   const VolumeShape& shape, const Spacing3& spacing) {
  const VoxelBox box = union_bounding_box(ref, pred, shape);
  if (box.empty()) return {};
  const VolumeShape crop = box.shape();
  const std::vector<uint8_t> ref_surface = surface_in_box(ref, shape, box);
  const std::vector<uint8_t> pred_surface = surface_in_box(pred, shape, box);
  std::vector<double> squared(static_cast<size_t>(crop.size()));
  SurfaceDistances out;
  squared_distance_transform(pred_surface.data(), crop, spacing, squared.data());
  out.ref_to_pred = distances_at(ref_surface, squared.data());
  squared_distance_transform(ref_surface.data(), crop, spacing, squared.data());
  out.pred_to_ref = distances_at(pred_surface, squared.data());
  return out;
}

double distance_percentile(std::vector<double> distances, double q) {
  if (distances.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double rank = (static_cast<double>(distances.size()) - 1.0) * q / 100.0;
  const double below = std::floor(rank);
  const size_t lo = static_cast<size_t>(below);
  std::nth_element(distances.begin(), distances.begin() + lo, distances.end());
  const double a = distances[lo];
  if (lo + 1 >= distances.size()) return a;
  const double b = *std::min_element(distances.begin() + lo + 1, distances.end());
  // numpy's _lerp, so that results match numpy.percentile to the last bit.
  const double t = rank - below;
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

SurfaceScores score_surface_distances(const SurfaceDistances& d, double nsd_tolerance_mm) {
  SurfaceScores s;
  s.hd95 =
      std::max(distance_percentile(d.ref_to_pred, 95.0), distance_percentile(d.pred_to_ref, 95.0));
  double sum = 0;
  size_t within = 0;
  for (const auto* list : {&d.ref_to_pred, &d.pred_to_ref})
    for (double v : *list) {
      s.hd = std::max(s.hd, v);
      sum += v;
      within += v <= nsd_tolerance_mm ? 1 : 0;
    }
  const double n = static_cast<double>(d.ref_to_pred.size() + d.pred_to_ref.size());
  s.assd = sum / n;
  s.nsd = static_cast<double>(within) / n;
  return s;
}

}  // namespace medseg
