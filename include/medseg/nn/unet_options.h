// What a U-Net is built from: the plan's ArchitecturePlan (topology) plus the numbers of input
// and output channels. Validated once here, so the modules can index the lists freely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medseg/io/plans.h"
#include "medseg/nn/conv_block.h"

namespace medseg {

struct UNetOptions {
  ArchitecturePlan architecture;  // PlainConvUNet or ResidualEncoderUNet topology
  int64_t in_channels = 1;        // image channels (modalities)
  int64_t num_classes = 2;        // output channels: labels incl. background, or regions
  bool deep_supervision = true;   // forward returns one output per decoder stage
};

// The options for one planned configuration (errors name the configuration).
UNetOptions unet_options(const ConfigurationPlan& configuration, int64_t in_channels,
                         int64_t num_classes, bool deep_supervision = true);

// Throws Error("<where>", ...) naming the first inconsistency: list lengths that do not match
// n_stages, mixed 2D/3D axes, even or non-positive kernels, non-positive strides or counts,
// a stride in stage 0, an unknown network name, fewer than 2 stages.
void validate_unet_options(const UNetOptions& options, const std::string& where = "U-Net");

// Number of spatial axes (2 or 3) of a validated architecture.
int64_t spatial_dims(const ArchitecturePlan& architecture);

// Conversions of the plan's per-stage int lists to the int64 lists torch takes.
std::vector<int64_t> kernel_of_stage(const ArchitecturePlan& architecture, int stage);
std::vector<int64_t> stride_of_stage(const ArchitecturePlan& architecture, int stage);

// The ConvNormAct options of the first conv of encoder stage `stage` (stride included),
// from `in_channels` to the stage's features.
ConvNormActOptions stage_conv_options(const ArchitecturePlan& architecture, int stage,
                                      int64_t in_channels);

}  // namespace medseg
