// Binary masks of axis-aligned boxes for the metric tests.
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/eval/volume_shape.h"

namespace medseg::testing {

// 1 inside [b.lo, b.hi) of a volume of shape s, 0 elsewhere.
inline std::vector<uint8_t> box_mask(const VolumeShape& s, const VoxelBox& b) {
  std::vector<uint8_t> m(static_cast<size_t>(s.size()), 0);
  for (int64_t z = b.lo[0]; z < b.hi[0]; ++z)
    for (int64_t y = b.lo[1]; y < b.hi[1]; ++y)
      for (int64_t x = b.lo[2]; x < b.hi[2]; ++x) m[s.index(z, y, x)] = 1;
  return m;
}

}  // namespace medseg::testing
