// The planner presets: the reference's default ExperimentPlanner (plain U-Net, 8 GB) and its
// residual-encoder presets nnUNetPlannerResEncM / L / XL (8 / 24 / 40 GB). A preset holds the
// constants the planning rules are calibrated with; the rules themselves are shared.
#pragma once

#include <string>
#include <vector>

namespace medseg {

struct PlannerPreset {
  std::string name;              // "default", "resenc-m", "resenc-l", "resenc-xl"
  std::string plans_name;        // written to plans.json and used in data identifiers
  std::string network;           // "PlainConvUNet" or "ResidualEncoderUNet"
  double default_gpu_memory_gb;  // memory target when none is given
  double reference_gb;           // the memory the reference values below correspond to
  double reference_value_3d;     // feature-map-size proxy that fits reference_batch_3d
  double reference_value_2d;
  int reference_batch_3d = 2;
  int reference_batch_2d = 12;
  // true: shrink the patch until a batch of 2 fits (estimate / reference_batch * 2 >
  // reference), as the default planner; false: until one reference batch fits (ResEnc).
  bool shrink_for_min_batch = true;
  double max_dataset_covered;                 // batch covers at most this fraction of the dataset
  std::vector<int> blocks_per_stage_encoder;  // convs (plain) or residual blocks per stage
  std::vector<int> blocks_per_stage_decoder;
  // ResEnc presets reuse the default plans' preprocessed data for 2d and 3d_fullres.
  bool shares_default_data = false;
  int base_features = 32;
  int max_features_3d = 320;
  int max_features_2d = 512;
  int min_batch_size = 2;
};

inline constexpr const char* kDefaultPlansName = "medsegPlans";

// Throws UsageError listing the known presets for an unknown name.
const PlannerPreset& planner_preset(const std::string& name);

std::vector<std::string> planner_preset_names();

}  // namespace medseg
