// Connected components of binary masks with full connectivity (26 neighbours in 3D, 8 in 2D),
// as skimage.measure.label's default, which the reference's postprocessing uses.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

struct ComponentLabels {
  at::Tensor labels;           // int32, same shape: 0 outside the mask, 1..n per component
  std::vector<int64_t> sizes;  // voxels of component i + 1 at index i
};

// mask: bool (or any dtype, nonzero = inside), 2D (y, x) or 3D (z, y, x). Components are
// numbered in memory order of their first voxel. Two-pass union-find.
ComponentLabels label_components(const at::Tensor& mask);

// bool mask of the largest component(s): every component of the largest size is kept, as the
// reference's remove_all_but_largest_component does. An empty mask stays empty.
at::Tensor largest_components(const at::Tensor& mask);

}  // namespace medseg
