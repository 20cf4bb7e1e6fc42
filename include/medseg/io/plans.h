// plans.json: the one contract between the pipeline's stages, read and written only through
// these typed structs. Schema (versioned) documented in docs/file-formats.md.
//
// Axis order of every per-axis list here is the array order after transpose_forward (the
// planner moves the axis of largest spacing first), as in the reference system.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace medseg {

inline constexpr int kPlansSchemaVersion = 1;

// Foreground intensity statistics of one channel (from the fingerprint), used by CT
// normalization.
struct IntensityProperties {
  double mean = 0, median = 0, std = 0, min = 0, max = 0;
  double percentile_00_5 = 0, percentile_99_5 = 0;
};

// The U-Net of one configuration. network is "PlainConvUNet" or "ResidualEncoderUNet".
struct ArchitecturePlan {
  std::string network = "PlainConvUNet";
  int n_stages = 0;
  std::vector<int> features_per_stage;
  std::vector<std::vector<int>> kernel_sizes;  // [stage][axis]
  std::vector<std::vector<int>> strides;       // [stage][axis]; stage 0 is all ones
  std::vector<int> n_conv_per_stage;           // encoder (blocks per stage for ResEnc)
  std::vector<int> n_conv_per_stage_decoder;   // n_stages - 1 entries
  bool conv_bias = true;
  double norm_eps = 1e-5;
  double leaky_relu_slope = 1e-2;
};

struct ConfigurationPlan {
  std::string name;             // "2d", "3d_fullres", "3d_lowres", "3d_cascade_fullres"
  std::string data_identifier;  // preprocessed/<data_identifier>/ (lowres and fullres differ)
  int batch_size = 2;
  std::vector<int64_t> patch_size;
  std::vector<double> median_image_size_in_voxels;
  std::vector<double> spacing;
  std::vector<std::string> normalization_schemes;  // per channel: "CTNormalization",
                                                   // "ZScoreNormalization", "NoNormalization",
                                                   // "RescaleTo01Normalization"
  std::vector<bool> use_mask_for_norm;
  int resampling_order_data = 3;  // B-spline order for images
  int resampling_order_seg = 1;   // one-hot linear for labels
  int resampling_order_z = 0;     // along z when resampled separately
  bool batch_dice = false;
  ArchitecturePlan architecture;
  std::optional<std::string> previous_stage;  // 3d_cascade_fullres: "3d_lowres"
  std::optional<std::string> next_stage;      // 3d_lowres: "3d_cascade_fullres"

  int spatial_dims() const { return static_cast<int>(patch_size.size()); }
};

// 2D images are recorded as 3D with one slice of spacing 999 along the first axis, as the
// reference's readers do (fingerprint, preprocessing).
inline constexpr double kSpacingOf2dSliceAxis = 999.0;

struct Plans {
  int schema_version = kPlansSchemaVersion;
  std::string dataset_name;
  std::string plans_name = "medsegPlans";
  double gpu_memory_target_gb = 8.0;
  std::vector<double> original_median_spacing_after_transp;
  std::vector<double> original_median_shape_after_transp;
  std::vector<int> transpose_forward{0, 1, 2};
  std::vector<int> transpose_backward{0, 1, 2};
  std::map<std::string, ConfigurationPlan> configurations;
  std::vector<IntensityProperties> foreground_intensity_properties_per_channel;

  // Throws Error listing the available configurations when `name` is not planned.
  const ConfigurationPlan& configuration(const std::string& name) const;
  // Whether the dataset's images were 2D (the slice axis of spacing kSpacingOf2dSliceAxis).
  bool planned_from_2d_images() const {
    return !original_median_spacing_after_transp.empty() &&
           original_median_spacing_after_transp[0] >= kSpacingOf2dSliceAxis;
  }
};

nlohmann::json to_json(const IntensityProperties& p);
IntensityProperties intensity_properties_from_json(const nlohmann::json& j,
                                                   const std::string& where);

nlohmann::json to_json(const ConfigurationPlan& c);
nlohmann::json to_json(const Plans& plans);
// Throws Error naming `where` and the key for missing keys, wrong types, unknown keys and
// an unsupported schema_version.
Plans plans_from_json(const nlohmann::json& j, const std::string& where);

Plans read_plans(const std::filesystem::path& path);
void write_plans(const Plans& plans, const std::filesystem::path& path);  // atomic

}  // namespace medseg
