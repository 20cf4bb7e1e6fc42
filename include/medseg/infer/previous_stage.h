// Cascade inputs (3d_cascade_fullres): the previous stage's segmentation, preprocessed like a
// label (transposed, cropped, resampled one-hot to this configuration's grid), enters the
// network as one channel per foreground label after the image channels, as the reference's
// convert_labelmap_to_one_hot does.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"

namespace medseg {

// The label values that get a one-hot channel: every label value except background and the
// ignore label (for region datasets, every value the regions use), ascending.
std::vector<int> previous_stage_label_values(const DatasetInfo& dataset);

// Image channels, plus one per previous_stage_label_values when the configuration has a
// previous stage: the in_channels of the configuration's network.
int64_t network_input_channels(const ConfigurationPlan& configuration, const DatasetInfo& dataset);

// data (channels, spatial...) float32 with one float32 0/1 channel per value appended:
// segmentation (1, spatial...) or (spatial...), any integer type (the -1 of voxels outside the
// nonzero mask is in no channel).
at::Tensor append_previous_stage(const at::Tensor& data, const at::Tensor& segmentation,
                                 const std::vector<int>& values);

}  // namespace medseg
