// Surface distances between two binary masks, the basis of HD95, HD, ASSD and NSD.
// Surface: the voxels of a mask with at least one face neighbour (6-neighbourhood) outside the
// mask; a neighbour outside the image counts as outside the mask, so masks touching the image
// border have surface there. An axis of extent 1 (2D images passed as z = 1) has no neighbours.
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/eval/volume_shape.h"

namespace medseg {

// The surface of `mask` (0/1 per voxel) as a 0/1 mask of the same shape.
std::vector<uint8_t> surface_mask(const uint8_t* mask, const VolumeShape& shape);

// The smallest box holding every nonzero voxel of both masks (empty when both are empty).
VoxelBox union_bounding_box(const uint8_t* a, const uint8_t* b, const VolumeShape& shape);

// Directed distances (mm): for each surface voxel of `ref`, the distance to the nearest
// surface voxel of `pred`, and the other way round. Distances towards an empty mask are
// +infinity. Computed with distance transforms restricted to the union bounding box of both
// masks, which is exact: every surface voxel (site or query) lies inside it.
struct SurfaceDistances {
  std::vector<double> ref_to_pred;  // one per surface voxel of ref, in memory order
  std::vector<double> pred_to_ref;  // one per surface voxel of pred
};
SurfaceDistances surface_distances(const uint8_t* ref, const uint8_t* pred,
                                   const VolumeShape& shape, const Spacing3& spacing);

// The q-th percentile (0..100) of a list of distances with linear interpolation between order
// statistics, numpy's default (value at rank (n - 1) * q / 100, interpolated as numpy's _lerp).
// Linear-time selection instead of a sort; NaN for an empty list.
double distance_percentile(std::vector<double> distances, double q);

// Scores of two non-empty surfaces. HD95 = max of the two directed 95th percentiles; HD = the
// largest distance; ASSD = mean over all distances of both directions; NSD at tolerance tau =
// (#ref surface within tau of pred + #pred surface within tau of ref) / (|S_ref| + |S_pred|),
// "within" meaning distance <= tau.
struct SurfaceScores {
  double hd95 = 0, hd = 0, assd = 0, nsd = 0;
};
SurfaceScores score_surface_distances(const SurfaceDistances& distances, double nsd_tolerance_mm);

}  // namespace medseg
