// Exact Euclidean distance transform with anisotropic spacing: for every voxel, the distance
// in mm to the nearest voxel whose mask value is nonzero. Separable, with the lower envelope of
// parabolas of Felzenszwalb and Huttenlocher (2012) along y and z, so O(voxels).
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/eval/volume_shape.h"

namespace medseg {

// Squared distances (mm^2) into `out` (shape.size() values); +infinity everywhere when the
// mask has no nonzero voxel. `out` may not alias `mask`.
void squared_distance_transform(const uint8_t* mask, const VolumeShape& shape,
                                const Spacing3& spacing, double* out);

// Distances in mm (the square root of the above).
std::vector<double> distance_transform(const uint8_t* mask, const VolumeShape& shape,
                                       const Spacing3& spacing);

}  // namespace medseg
