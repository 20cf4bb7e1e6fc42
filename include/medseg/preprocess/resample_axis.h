// Resampling along one axis at a time, with the reference's sampling rules (scipy.ndimage.zoom,
// grid_mode=True, mode 'nearest', as skimage.transform.resize calls it): output voxel o samples
// input coordinate (o + 0.5) * n_in / n_out - 0.5. A tensor-product spline is separable, so one
// pass per axis gives the reference's 3D resize exactly, at a fraction of its cost.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

// The input coordinate output voxel `o` samples when `n_in` voxels become `n_out`.
double source_coordinate(int64_t o, int64_t n_in, int64_t n_out);

// Nearest-neighbour source index of every output voxel: floor(coordinate + 0.5) clamped to
// [0, n_in - 1] (order 0 in the reference).
std::vector<int64_t> nearest_source_indices(int64_t n_in, int64_t n_out);

// Resamples `volume` (any dtype for order 0, float32 or float64 otherwise; any number of axes)
// to `new_size` voxels along `axis`. Orders: 0 nearest; 1 linear; 3 cubic B-spline of the
// signal extended with its edge values (scipy pads 12 edge voxels before prefiltering; so does
// this). Works in double per line; returns a new contiguous tensor of the input's dtype.
// `threads` <= 0: all cores.
at::Tensor resample_axis(const at::Tensor& volume, int64_t axis, int64_t new_size, int order,
                         int threads = 1);

// The mask `labels == value` (int16 or int32 labels) resampled along `axis`, as a float64
// tensor: the first pass of a one-hot label resampling, without materializing the mask. Double
// precision keeps the reference's comparisons with 0.5 (float32 rounding would move ties).
at::Tensor resample_label_mask_axis(const at::Tensor& labels, int64_t value, int64_t axis,
                                    int64_t new_size, int order, int threads = 1);

}  // namespace medseg
