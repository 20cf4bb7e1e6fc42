// One-hot linear resampling of a label map in a single pass: the reference resamples the mask of
// every label value with (bi/tri)linear interpolation and assigns the value where the mask
// reaches 0.5, later (larger) values winning. Only the 2^d input voxels around an output voxel
// carry weight, so each output voxel is decided from those corners alone, with the reference's
// own arithmetic (scipy's sum over corners of the weight products), bit for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

// `labels`: int16, 1 to 3 spatial axes. Axes whose size is unchanged are not interpolated
// (the reference's slice-by-slice resize). Voxels no label reaches 0.5 at become 0.
at::Tensor resample_labels_linear(const at::Tensor& labels, const std::vector<int64_t>& new_shape,
                                  int threads = 1);

}  // namespace medseg
