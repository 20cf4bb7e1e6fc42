// Deep-supervision targets made with the batch: the label patch downsampled with nearest
// neighbour to each decoder output's resolution (the reference's _get_deep_supervision_scales
// and DownsampleSegForDSTransform2).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace medseg {

// Per decoder output (highest resolution first), its size relative to the patch per axis:
// 1 / cumulative product of the strides of stages 0..i, for i < n_stages - 1.
// strides: [stage][axis] as ArchitecturePlan; Error for fewer than 2 stages or ragged axes.
std::vector<std::vector<double>> target_scales_from_strides(
    const std::vector<std::vector<int>>& strides);

// labels: (batch, 1, spatial...) of any dtype. One tensor per scale, of size round(size * scale)
// per axis, each output voxel o reading input floor((o + 0.5) * in / out) ('nearest-exact', as
// the reference); a scale of all ones returns `labels` itself.
std::vector<at::Tensor> downsample_label_batch(const at::Tensor& labels,
                                               const std::vector<std::vector<double>>& scales);

}  // namespace medseg
