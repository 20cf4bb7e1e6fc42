// Resampling a case to the configuration's spacing with the reference's rules: the new shape,
// the "separate z" decision for anisotropic spacings, spline resampling of images (clipped to the
// input's range, as skimage's resize does) and one-hot resampling of label maps.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace medseg {

// Spacing ratio max/min above which the reference resamples the anisotropic axis separately.
inline constexpr double kAnisotropyThreshold = 3.0;

// round(spacing / new_spacing * shape) per axis, rounding halves to even as Python does (at
// least 1 voxel).
std::vector<int64_t> compute_new_shape(const std::vector<int64_t>& shape,
                                       const std::vector<double>& spacing,
                                       const std::vector<double>& new_spacing);

// The axis to resample separately, or nullopt: the current spacing decides if its max/min ratio
// exceeds the threshold, otherwise the new spacing does; the axis is the one of largest spacing,
// and there is none when two axes share the largest spacing.
std::optional<int64_t> separate_z_axis(const std::vector<double>& spacing,
                                       const std::vector<double>& new_spacing,
                                       double threshold = kAnisotropyThreshold);

struct ResamplingOptions {
  std::optional<int64_t> separate_axis;  // from separate_z_axis()
  int order = 3;                         // in-plane (or every axis without separate z)
  int order_z = 0;                       // along the separate axis
  int threads = 1;                       // <= 0: all cores
};

// Images (c, spatial...) float32 to the new spatial shape: each channel with a B-spline of
// `order` along every axis, then clipped to its input range; with a separate axis, each slice
// in-plane (clipped to the slice's range), then along the axis with `order_z`.
at::Tensor resample_data(const at::Tensor& data, const std::vector<int64_t>& new_shape,
                         const ResamplingOptions& options);

// A label map (spatial..., int16 or int32) to the new shape: order 0 is nearest neighbour; else
// each label value is resampled as a mask and each voxel takes the label of the largest mask,
// an exact tie going to the nearest neighbour's label when it is tied, else to the smallest
// (batchgenerators 0.25.5's resize_segmentation, label_resampling.h). Along a separate axis
// with order_z 0, nearest neighbour; with order_z > 0, nnunetv2's own rule: each label where the
// rounded mask exceeds 0.5, later labels winning.
at::Tensor resample_segmentation(const at::Tensor& labels, const std::vector<int64_t>& new_shape,
                                 const ResamplingOptions& options);

}  // namespace medseg
