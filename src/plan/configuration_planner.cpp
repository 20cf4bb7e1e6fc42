#include "medseg/plan/configuration_planner.h"

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/plan/feature_map_size.h"

namespace medseg {

std::vector<double> initial_patch_size(const std::vector<double>& spacing,
                                       const std::vector<double>& median_shape) {
  const size_t dims = spacing.size();
  std::vector<double> inverse;
  double product = 1;
  for (double s : spacing) {
    inverse.push_back(1.0 / s);
    product *= inverse.back();
  }
  const double volume = dims == 3 ? 256.0 * 256.0 * 256.0 : 2048.0 * 2048.0;
  const double scale = std::pow(volume / product, 1.0 / static_cast<double>(dims));
  std::vector<double> patch;
  for (size_t i = 0; i < dims; ++i)
    patch.push_back(std::min(std::nearbyint(inverse[i] * scale), median_shape[i]));
  return patch;
}

ArchitecturePlan architecture_for(const NetworkTopology& topology, const PlannerPreset& preset) {
  const int n = topology.n_stages();
  if (n > static_cast<int>(preset.blocks_per_stage_encoder.size()) ||
      n - 1 > static_cast<int>(preset.blocks_per_stage_decoder.size()))
    throw Error("planner", "the topology has " + std::to_string(n) + " stages, more than the " +
                               preset.name + " preset defines");
  const bool is_2d = topology.patch_size.size() == 2;
  ArchitecturePlan a;
  a.network = preset.network;
  a.n_stages = n;
  for (int s = 0; s < n; ++s)
    a.features_per_stage.push_back(std::min(is_2d ? preset.max_features_2d : preset.max_features_3d,
                                            preset.base_features << s));
  a.kernel_sizes = topology.kernel_sizes;
  a.strides = topology.strides;
  a.n_conv_per_stage.assign(preset.blocks_per_stage_encoder.begin(),
                            preset.blocks_per_stage_encoder.begin() + n);
  a.n_conv_per_stage_decoder.assign(preset.blocks_per_stage_decoder.begin(),
                                    preset.blocks_per_stage_decoder.begin() + (n - 1));
  return a;
}

namespace {

// The axis whose patch edge is largest relative to the median shape (the last one on ties,
// as numpy's argsort(...)[-1] orders a short list).
size_t axis_to_shrink(const std::vector<int64_t>& patch, const std::vector<double>& median_shape) {
  size_t best = 0;
  for (size_t i = 1; i < patch.size(); ++i)
    if (static_cast<double>(patch[i]) / median_shape[i] >=
        static_cast<double>(patch[best]) / median_shape[best])
      best = i;
  return best;
}

std::vector<double> as_double(const std::vector<int64_t>& v) {
  return {v.begin(), v.end()};
}

// One reduction step of the axis: by its divisor after subtracting the current divisor, so
// that no valid patch size is skipped.
std::vector<double> shrunk_patch(const NetworkTopology& topology,
                                 const std::vector<double>& spacing, size_t axis) {
  std::vector<double> trial = as_double(topology.patch_size);
  trial[axis] -= static_cast<double>(topology.must_be_divisible_by[axis]);
  const std::vector<int64_t> divisor = network_topology(spacing, trial).must_be_divisible_by;
  std::vector<double> patch = as_double(topology.patch_size);
  patch[axis] -= static_cast<double>(divisor[axis]);
  return patch;
}

}  // namespace

ConfigurationPlan plan_configuration(const ConfigurationRequest& request,
                                     const PlannerPreset& preset, double gpu_memory_gb) {
  const bool is_2d = request.spacing.size() == 2;
  const double reference = (is_2d ? preset.reference_value_2d : preset.reference_value_3d) *
                           (gpu_memory_gb / preset.reference_gb);
  const double reference_batch = is_2d ? preset.reference_batch_2d : preset.reference_batch_3d;
  auto too_large = [&](double estimate) {
    return preset.shrink_for_min_batch ? estimate / reference_batch * 2 > reference
                                       : estimate > reference;
  };
  NetworkTopology topology =
      network_topology(request.spacing, initial_patch_size(request.spacing, request.median_shape));
  ArchitecturePlan architecture = architecture_for(topology, preset);
  double estimate = static_cast<double>(
      conv_feature_map_size(architecture, topology.patch_size, request.num_classes));
  while (too_large(estimate)) {
    const size_t axis = axis_to_shrink(topology.patch_size, request.median_shape);
    const std::vector<double> patch = shrunk_patch(topology, request.spacing, axis);
    if (patch[axis] < 1)
      throw Error("planner", request.name + ": the GPU memory target of " +
                                 std::to_string(gpu_memory_gb) + " GB is too small for any patch");
    topology = network_topology(request.spacing, patch);
    architecture = architecture_for(topology, preset);
    estimate = static_cast<double>(
        conv_feature_map_size(architecture, topology.patch_size, request.num_classes));
  }
  double patch_voxels = 1;
  for (int64_t s : topology.patch_size) patch_voxels *= static_cast<double>(s);
  const double by_memory = std::nearbyint(reference / estimate * reference_batch);
  const double by_dataset = std::nearbyint(request.approximate_n_voxels_dataset *
                                           preset.max_dataset_covered / patch_voxels);
  ConfigurationPlan c;
  c.name = request.name;
  c.data_identifier = request.data_identifier;
  const double batch =
      std::max(std::min(by_memory, by_dataset), static_cast<double>(preset.min_batch_size));
  c.batch_size = static_cast<int>(std::min(batch, 1e9));
  c.patch_size = topology.patch_size;
  c.median_image_size_in_voxels = request.median_shape;
  c.spacing = request.spacing;
  c.architecture = architecture;
  return c;
}

}  // namespace medseg
