// Nearest-neighbour resizing by index selection, torch's 'nearest-exact' rule: output voxel o
// reads input floor((o + 0.5) * in / out). Works on any dtype and device, and, unlike
// interpolate(kNearestExact) in libtorch 1.13, logs no warning on every call.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

// Resizes the last size.size() axes of x to `size` (leading axes untouched); an axis already
// of its size is left as is.
at::Tensor resize_nearest_exact(const at::Tensor& x, const std::vector<int64_t>& size);

}  // namespace medseg
