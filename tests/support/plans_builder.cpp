#include "support/plans_builder.h"

namespace medseg::testing {

Plans minimal_plans(const std::vector<double>& spacing, const std::string& scheme) {
  const size_t dims = spacing.size();
  ConfigurationPlan c;
  c.name = dims == 2 ? "2d" : "3d_fullres";
  c.data_identifier = "medsegPlans_" + c.name;
  c.patch_size.assign(dims, 16);
  c.median_image_size_in_voxels.assign(dims, 16.0);
  c.spacing = spacing;
  c.normalization_schemes = {scheme};
  c.use_mask_for_norm = {false};
  c.architecture.n_stages = 1;
  c.architecture.features_per_stage = {8};
  c.architecture.kernel_sizes = {std::vector<int>(dims, 3)};
  c.architecture.strides = {std::vector<int>(dims, 1)};
  c.architecture.n_conv_per_stage = {2};
  c.architecture.n_conv_per_stage_decoder = {};
  Plans plans;
  plans.dataset_name = "Dataset999_Test";
  plans.original_median_spacing_after_transp = {1, 1, 1};
  plans.original_median_shape_after_transp = {16, 16, 16};
  plans.configurations[c.name] = c;
  IntensityProperties p;
  p.mean = 100;
  p.median = 100;
  p.std = 20;
  p.min = 0;
  p.max = 200;
  p.percentile_00_5 = 50;
  p.percentile_99_5 = 150;
  plans.foreground_intensity_properties_per_channel = {p};
  return plans;
}

}  // namespace medseg::testing
