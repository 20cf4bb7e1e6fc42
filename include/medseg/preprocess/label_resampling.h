// One-hot linear resampling of a label map in a single pass, as the reference's
// resize_segmentation (batchgenerators 0.25.5, what `pip install nnunetv2` gives today) does it:
// the mask of every label value is resampled with (bi/tri)linear interpolation and each voxel takes
// the label of the largest interpolated mask, an exact tie going to the nearest neighbour's
// label when it is one of the tied ones, else to the smallest tied label. (Older batchgenerators
// assigned each label where its mask reached 0.5, later values winning.) Only the 2^d input voxels
// around an output voxel carry weight, so each output voxel is decided from those corners alone,
// with the reference's own arithmetic (scipy's sum over corners of the weight products), bit
// for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

// `labels`: int16, 1 to 3 spatial axes. Axes whose size is unchanged are not interpolated
// (the reference's slice-by-slice resize).
at::Tensor resample_labels_linear(const at::Tensor& labels, const std::vector<int64_t>& new_shape,
                                  int threads = 1);

}  // namespace medseg
