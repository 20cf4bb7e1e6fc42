// One configuration (2d, 3d_fullres or 3d_lowres) planned as the reference's
// get_plans_for_configuration does: the initial patch from the spacing, the topology for it,
// the patch shrunk until the feature-map-size proxy fits the memory target, and the batch size
// from the headroom left (capped by the dataset share a batch may cover, at least 2).
#pragma once

#include <string>
#include <vector>

#include "medseg/io/plans.h"
#include "medseg/plan/network_topology.h"
#include "medseg/plan/planner_preset.h"

namespace medseg {

struct ConfigurationRequest {
  std::string name;  // "2d", "3d_fullres", "3d_lowres"
  std::string data_identifier;
  std::vector<double> spacing;              // target spacing, transposed (2 or 3 axes)
  std::vector<double> median_shape;         // median image size at that spacing, transposed
  double approximate_n_voxels_dataset = 0;  // median voxels x number of cases
  int num_classes = 2;                      // entries of dataset.json's "labels"
};

// A patch of the volume of 256^3 (3D) or 2048^2 (2D) with edges proportional to 1 / spacing,
// rounded (half to even) and clipped to the median shape.
std::vector<double> initial_patch_size(const std::vector<double>& spacing,
                                       const std::vector<double>& median_shape);

// The architecture of `preset` for a topology: features min(32 * 2^s, 320 (3D) / 512 (2D)),
// the preset's convs (or residual blocks) per stage. Throws Error when the topology has more
// stages than the preset lists.
ArchitecturePlan architecture_for(const NetworkTopology& topology, const PlannerPreset& preset);

// Everything but the normalization and batch_dice, which depend on the whole experiment.
// Throws Error when even a one-voxel patch axis would not fit the memory target.
ConfigurationPlan plan_configuration(const ConfigurationRequest& request,
                                     const PlannerPreset& preset, double gpu_memory_gb);

}  // namespace medseg
