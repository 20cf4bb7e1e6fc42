// The planner's GPU memory proxy: the number of values in all feature maps the planned U-Net
// produces for one patch, counted as the reference's compute_conv_feature_map_size
// (dynamic_network_architectures) counts them. Not bytes: the reference values the planner
// compares it with were calibrated on this count.
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/io/plans.h"

namespace medseg {

// Counts, at each stage's resolution (patch // cumulative strides, floor division per stage):
//  PlainConvUNet encoder: n_conv_per_stage[s] conv outputs (the first one strided).
//  ResidualEncoderUNet encoder: the stem conv at full resolution, then per block two conv
//    outputs, plus the 1x1 projection of the first block of a stage when it changes channels
//    or resolution.
//  Decoder (both): per stage the transposed-conv output, n_conv_per_stage_decoder conv outputs
//    and the segmentation output (every stage with deep supervision, else only the last).
int64_t conv_feature_map_size(const ArchitecturePlan& architecture,
                              const std::vector<int64_t>& patch_size, int num_classes,
                              bool deep_supervision = false);

}  // namespace medseg
