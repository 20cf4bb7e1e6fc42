#include "medseg/plan/plans_summary.h"

#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>

namespace medseg {

namespace {

template <typename T>
std::string joined(const std::vector<T>& v, const char* separator = " x ") {
  return fmt::format("{}", fmt::join(v, separator));
}

std::string per_stage(const std::vector<std::vector<int>>& values) {
  std::vector<std::string> stages;
  for (const auto& v : values) stages.push_back(joined(v, "x"));
  return joined(stages, " ");
}

std::string yes_no(bool v) {
  return v ? "yes" : "no";
}

}  // namespace

std::string describe_configuration(const ConfigurationPlan& c) {
  const ArchitecturePlan& a = c.architecture;
  std::string masks;
  for (bool m : c.use_mask_for_norm) masks += (masks.empty() ? "" : ", ") + yes_no(m);
  std::string s = fmt::format("{}:\n", c.name);
  s += fmt::format("  spacing {} mm, median image {} voxels\n", joined(c.spacing),
                   joined(c.median_image_size_in_voxels));
  s += fmt::format("  patch {}, batch {}, batch dice {}\n", joined(c.patch_size), c.batch_size,
                   yes_no(c.batch_dice));
  s += fmt::format("  {} with {} stages, features {}\n", a.network, a.n_stages,
                   joined(a.features_per_stage, " "));
  s += fmt::format("  strides {}\n", per_stage(a.strides));
  s += fmt::format("  kernels {}\n", per_stage(a.kernel_sizes));
  s += fmt::format("  convs per stage {} (decoder {})\n", joined(a.n_conv_per_stage, " "),
                   joined(a.n_conv_per_stage_decoder, " "));
  s += fmt::format("  normalization {} (nonzero mask: {})\n", joined(c.normalization_schemes, ", "),
                   masks);
  if (c.previous_stage) s += fmt::format("  cascade: after {}\n", *c.previous_stage);
  if (c.next_stage) s += fmt::format("  cascade: followed by {}\n", *c.next_stage);
  return s;
}

std::string describe_plans(const Plans& plans) {
  std::string s = fmt::format("{} ({}, {} GB GPU memory target), transpose {}\n",
                              plans.dataset_name, plans.plans_name, plans.gpu_memory_target_gb,
                              joined(plans.transpose_forward, ", "));
  for (const char* name : {"2d", "3d_fullres", "3d_lowres", "3d_cascade_fullres"}) {
    const auto it = plans.configurations.find(name);
    if (it != plans.configurations.end()) s += describe_configuration(it->second);
  }
  return s;
}

}  // namespace medseg
