// The Gaussian importance map of the sliding window (the reference's compute_gaussian): tiles
// weigh their centre more than their border, so seams between tiles do not show.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

// The reference's sigma: 1/8 of the patch edge per axis.
inline constexpr double kGaussianSigmaScale = 1.0 / 8.0;

// float32 map of the patch's shape: a unit impulse at the centre (index size / 2 per axis)
// smoothed with scipy's gaussian_filter (sigma = size * sigma_scale, kernel truncated at
// 4 sigma), divided by its maximum (so the centre is 1), zeros replaced by the smallest
// nonzero value (a voxel covered by one tile must never get weight 0).
at::Tensor gaussian_importance_map(const std::vector<int64_t>& patch_size,
                                   double sigma_scale = kGaussianSigmaScale);

// The map nnUNetv2_predict ships with (compute_gaussian(value_scaling_factor=10) in its default
// float16): the same smoothed impulse divided by (maximum / 10), rounded to float16, and the
// zeros (float16 underflow at the patch's corners included) replaced by the smallest nonzero
// float16 value. For PredictionOptions::accumulation float16.
at::Tensor gaussian_importance_map_float16(const std::vector<int64_t>& patch_size,
                                           double sigma_scale = kGaussianSigmaScale);

}  // namespace medseg
