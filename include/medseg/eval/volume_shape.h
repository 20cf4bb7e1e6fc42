// The plain-array view of a 3D volume that the metrics work on: a C-contiguous buffer of
// z * y * x voxels (x fastest, as io/image.h lays tensors out) and its voxel spacing in mm.
// 2D images are passed with z = 1.
#pragma once

#include <array>
#include <cstdint>

namespace medseg {

struct VolumeShape {
  int64_t z = 1, y = 1, x = 1;

  int64_t size() const { return z * y * x; }
  int64_t index(int64_t iz, int64_t iy, int64_t ix) const { return (iz * y + iy) * x + ix; }
};

// Voxel spacing in millimetres, (z, y, x).
using Spacing3 = std::array<double, 3>;

// A half-open box of voxel indices [lo, hi) per axis (z, y, x).
struct VoxelBox {
  std::array<int64_t, 3> lo{0, 0, 0};
  std::array<int64_t, 3> hi{0, 0, 0};

  bool empty() const { return hi[0] <= lo[0] || hi[1] <= lo[1] || hi[2] <= lo[2]; }
  VolumeShape shape() const { return {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]}; }
};

}  // namespace medseg
