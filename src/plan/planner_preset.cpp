#include "medseg/plan/planner_preset.h"

#include "medseg/core/error.h"

namespace medseg {

namespace {

PlannerPreset default_preset() {
  PlannerPreset p;
  p.name = "default";
  p.plans_name = kDefaultPlansName;
  p.network = "PlainConvUNet";
  p.default_gpu_memory_gb = 8;
  p.reference_gb = 8;
  p.reference_value_3d = 560e6;  // ExperimentPlanner.UNet_reference_val_3d
  p.reference_value_2d = 85e6;   // ExperimentPlanner.UNet_reference_val_2d
  p.shrink_for_min_batch = true;
  p.max_dataset_covered = 0.05;
  p.blocks_per_stage_encoder.assign(14, 2);
  p.blocks_per_stage_decoder.assign(13, 2);
  return p;
}

// nnUNetPlannerResEncM/L/XL (residual_encoder_unet_planners.py): BasicBlockD encoder with
// (1, 3, 4, 6, 6, ...) blocks, one conv per decoder stage, no 5% dataset cap.
PlannerPreset resenc_preset(const std::string& name, const std::string& size, double gb,
                            double value_3d, double value_2d) {
  PlannerPreset p;
  p.name = name;
  p.plans_name = std::string("medsegResEncUNet") + size + "Plans";
  p.network = "ResidualEncoderUNet";
  p.default_gpu_memory_gb = gb;
  p.reference_gb = gb;
  p.reference_value_3d = value_3d;
  p.reference_value_2d = value_2d;
  p.shrink_for_min_batch = false;
  p.max_dataset_covered = 1;
  p.blocks_per_stage_encoder = {1, 3, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6};
  p.blocks_per_stage_decoder.assign(12, 1);
  p.shares_default_data = true;
  return p;
}

const std::vector<PlannerPreset>& presets() {
  static const std::vector<PlannerPreset> all = {
      default_preset(),
      resenc_preset("resenc-m", "M", 8, 680e6, 135e6),
      resenc_preset("resenc-l", "L", 24, 2100e6, 380e6),
      resenc_preset("resenc-xl", "XL", 40, 3600e6, 560e6),
  };
  return all;
}

}  // namespace

std::vector<std::string> planner_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.push_back(p.name);
  return names;
}

const PlannerPreset& planner_preset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return p;
  std::string known;
  for (const auto& n : planner_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("planner preset", "unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace medseg
