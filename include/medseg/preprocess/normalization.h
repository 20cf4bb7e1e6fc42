// Intensity normalization per channel, by the scheme the plans name (the reference's classes of
// the same names): CT, z-score (optionally inside the nonzero mask), none, rescale to [0, 1],
// RGB to [0, 1].
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "medseg/io/plans.h"

namespace medseg {

// The scheme names the plans may use.
const std::vector<std::string>& normalization_schemes();

// Normalizes one channel (float32, contiguous, cropped) in place.
//   CTNormalization: clip to [percentile_00_5, percentile_99_5] of the dataset's foreground,
//     then (x - mean) / max(std, 1e-8) with that foreground's statistics (`intensities` needed).
//   ZScoreNormalization: (x - mean) / max(std, 1e-8) over the channel; with use_mask, mean and std
//     over voxels where segmentation >= 0 only, and voxels outside that mask set to 0.
//   NoNormalization: unchanged.  RescaleTo01Normalization: (x - min) / max(max - min, 1e-8).
//   RGBTo01Normalization: x / 255 (values must lie in [0, 255]).
// `segmentation` (spatial, integer, -1 outside the nonzero mask) is used only with use_mask.
// Throws Error naming the scheme when it is unknown or its inputs are missing.
void normalize_channel(at::Tensor& channel, const std::string& scheme, bool use_mask,
                       const at::Tensor& segmentation, const IntensityProperties* intensities);

}  // namespace medseg
