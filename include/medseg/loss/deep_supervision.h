// Deep supervision as the reference trains it: one loss per decoder output, weighted 1/2^i
// (highest resolution first) with the lowest resolution weighted 0 and the weights normalized
// to sum 1; targets downsampled with nearest neighbour to each output's resolution.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <vector>

namespace medseg {

// n_outputs = 1 (deep supervision off): {1}. n >= 2: w_i = 2^-i, w_{n-1} = 0, normalized.
std::vector<double> deep_supervision_weights(std::size_t n_outputs);

// Per network output (highest resolution first), its size relative to the input per axis:
// 1 / the cumulative product of the strides of stages 0..i (the reference's
// _get_deep_supervision_scales). strides: [stage][axis] as in ArchitecturePlan; gives
// n_stages - 1 scales.
std::vector<std::vector<double>> deep_supervision_scales(
    const std::vector<std::vector<int>>& strides);

// target: (B, C, spatial...) or one sample (C, spatial...), any dtype (labels, regions). One
// tensor per scale of size round(size * scale) per axis, by 'nearest-exact' interpolation as
// the reference's DownsampleSegForDSTransform; a scale of all ones returns `target` itself.
std::vector<at::Tensor> downsample_targets(const at::Tensor& target,
                                           const std::vector<std::vector<double>>& scales);

}  // namespace medseg
