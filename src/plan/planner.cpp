#include "medseg/plan/planner.h"

#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/plan/configuration_planner.h"
#include "medseg/plan/percentile.h"
#include "medseg/plan/planner_preset.h"
#include "medseg/plan/target_spacing.h"
#include "medseg/preprocess/resampling.h"

namespace medseg {

std::string normalization_scheme(const std::string& channel_name) {
  std::string name = channel_name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (name == "ct") return "CTNormalization";
  if (name == "nonorm") return "NoNormalization";
  if (name == "zscore") return "ZScoreNormalization";
  if (name == "rescale_to_0_1") return "RescaleTo01Normalization";
  if (name == "rgb_to_0_1")
    throw Error("dataset.json",
                "channel '" + channel_name +
                    "' asks for RGB normalization (rgb_to_0_1), which medseg does not support; "
                    "name the channel 'rescale_to_0_1' or 'zscore' instead");
  return "ZScoreNormalization";
}

namespace {

constexpr double kLowresCreationThreshold = 0.25;  // fullres patch / median image voxels
constexpr double kLowresSpacingStep = 1.03;
constexpr double kMaskForNormBelowRelativeSize = 0.75;

struct Experiment {
  const PlannerPreset& preset;
  double gpu_memory_gb;
  int num_classes;
  int num_cases;
};

template <typename T>
std::vector<T> permuted(const std::vector<T>& v, const std::vector<int>& order) {
  std::vector<T> out;
  for (int i : order) out.push_back(v[static_cast<size_t>(i)]);
  return out;
}

template <typename T>
double product(const std::vector<T>& v) {
  double p = 1;
  for (T x : v) p *= static_cast<double>(x);
  return p;
}

std::string data_identifier(const PlannerPreset& preset, const std::string& configuration) {
  if (preset.shares_default_data && (configuration == "2d" || configuration == "3d_fullres"))
    return std::string(kDefaultPlansName) + "_" + configuration;
  return preset.plans_name + "_" + configuration;
}

// Coarsens the fullres spacing by 3% per step (axes more than 2x finer than the coarsest
// first) until the patch covers >= 25% of the median image; dropped when the image shrank
// by less than half.
std::optional<ConfigurationPlan> plan_lowres(const ConfigurationPlan& fullres,
                                             const std::vector<double>& median_shape,
                                             const Experiment& e) {
  const double fullres_voxels = product(median_shape);
  double median_voxels = fullres_voxels;
  double patch_voxels = product(fullres.patch_size);
  std::vector<double> spacing = fullres.spacing;
  std::optional<ConfigurationPlan> lowres;
  while (patch_voxels / median_voxels < kLowresCreationThreshold) {
    const double max_spacing = *std::max_element(spacing.begin(), spacing.end());
    std::vector<bool> fine(spacing.size());
    bool any_fine = false;
    for (size_t i = 0; i < spacing.size(); ++i)
      any_fine |= (fine[i] = max_spacing / spacing[i] > 2);
    for (size_t i = 0; i < spacing.size(); ++i)
      if (!any_fine || fine[i]) spacing[i] *= kLowresSpacingStep;
    std::vector<double> shape, rounded;
    for (size_t i = 0; i < spacing.size(); ++i) {
      shape.push_back(fullres.spacing[i] / spacing[i] * median_shape[i]);
      rounded.push_back(std::nearbyint(shape.back()));
    }
    median_voxels = product(shape);
    ConfigurationRequest request{"3d_lowres",
                                 data_identifier(e.preset, "3d_lowres"),
                                 spacing,
                                 rounded,
                                 median_voxels * e.num_cases,
                                 e.num_classes};
    lowres = plan_configuration(request, e.preset, e.gpu_memory_gb);
    patch_voxels = product(lowres->patch_size);
    log().debug("3d_lowres attempt: spacing {}, patch {}", fmt::join(spacing, " x "),
                fmt::join(lowres->patch_size, " x "));
  }
  if (fullres_voxels / median_voxels < 2) return std::nullopt;
  return lowres;
}

void check_inputs(const DatasetFingerprint& fp, const DatasetInfo& dataset,
                  const PlannerOptions& options, double gpu) {
  if (fp.num_cases() == 0) throw Error("planner", "the fingerprint holds no case");
  if (static_cast<int>(fp.foreground_intensity_properties_per_channel.size()) !=
      dataset.num_channels())
    throw Error("planner",
                "the fingerprint has " +
                    std::to_string(fp.foreground_intensity_properties_per_channel.size()) +
                    " channel(s) but dataset.json declares " +
                    std::to_string(dataset.num_channels()));
  if (!(gpu > 0))
    throw UsageError("planner",
                     "the GPU memory target must be positive, not " + std::to_string(gpu));
  if (options.overwrite_target_spacing) {
    const auto& s = *options.overwrite_target_spacing;
    if (s.size() != 3 || std::any_of(s.begin(), s.end(), [](double v) { return !(v > 0); }))
      throw UsageError("planner", "--overwrite-target-spacing needs three positive spacings z y x");
  }
}

// Per channel: the scheme, and whether z-score uses only the nonzero mask.
void set_normalization(ConfigurationPlan& c, const DatasetFingerprint& fp,
                       const DatasetInfo& dataset) {
  const nlohmann::json forced =
      dataset.raw.contains("use_mask_for_norm") ? dataset.raw.at("use_mask_for_norm") : nullptr;
  if (!forced.is_null() && !forced.is_boolean())
    throw Error("dataset.json",
                "\"use_mask_for_norm\" must be true or false, not " + forced.dump());
  const bool mask = fp.median_relative_size_after_cropping < kMaskForNormBelowRelativeSize ||
                    (forced.is_boolean() && forced.get<bool>());
  c.normalization_schemes.clear();
  c.use_mask_for_norm.clear();
  for (const auto& name : dataset.channel_names) {
    c.normalization_schemes.push_back(normalization_scheme(name));
    c.use_mask_for_norm.push_back(mask && c.normalization_schemes.back() == "ZScoreNormalization");
  }
}

}  // namespace

Plans plan_experiment(const DatasetFingerprint& fp, const DatasetInfo& dataset,
                      const PlannerOptions& options) {
  const PlannerPreset& preset = planner_preset(options.preset);
  const double gpu = options.gpu_memory_gb.value_or(preset.default_gpu_memory_gb);
  check_inputs(fp, dataset, options, gpu);
  const Experiment experiment{preset, gpu, static_cast<int>(dataset.labels.size()), fp.num_cases()};

  const std::vector<double> fullres_spacing = options.overwrite_target_spacing
                                                  ? *options.overwrite_target_spacing
                                                  : fullres_target_spacing(fp);
  const AxisTranspose transpose = transpose_for_spacing(fullres_spacing);
  std::vector<std::vector<double>> new_shapes;
  for (int i = 0; i < fp.num_cases(); ++i) {
    const auto shape = compute_new_shape(fp.shapes_after_crop[i], fp.spacings[i], fullres_spacing);
    new_shapes.emplace_back(shape.begin(), shape.end());
  }
  const std::vector<double> median_shape = permuted(median_per_axis(new_shapes), transpose.forward);
  const std::vector<double> spacing = permuted(fullres_spacing, transpose.forward);
  const double n_voxels_dataset = product(median_shape) * fp.num_cases();

  Plans plans;
  plans.dataset_name = options.dataset_name.empty() ? dataset.name : options.dataset_name;
  plans.plans_name = preset.plans_name;
  plans.gpu_memory_target_gb = gpu;
  plans.transpose_forward = transpose.forward;
  plans.transpose_backward = transpose.backward;
  plans.original_median_spacing_after_transp =
      permuted(median_per_axis(fp.spacings), transpose.forward);
  std::vector<std::vector<double>> shapes;
  for (const auto& s : fp.shapes_after_crop) shapes.emplace_back(s.begin(), s.end());
  for (double v : permuted(median_per_axis(shapes), transpose.forward))
    plans.original_median_shape_after_transp.push_back(std::nearbyint(v));
  plans.foreground_intensity_properties_per_channel =
      fp.foreground_intensity_properties_per_channel;

  const int classes = experiment.num_classes;
  if (median_shape[0] != 1) {
    ConfigurationPlan fullres =
        plan_configuration({"3d_fullres", data_identifier(preset, "3d_fullres"), spacing,
                            median_shape, n_voxels_dataset, classes},
                           preset, gpu);
    std::optional<ConfigurationPlan> lowres = plan_lowres(fullres, median_shape, experiment);
    fullres.batch_dice = lowres.has_value();
    set_normalization(fullres, fp, dataset);
    if (lowres) {
      lowres->batch_dice = false;
      lowres->next_stage = "3d_cascade_fullres";
      set_normalization(*lowres, fp, dataset);
      ConfigurationPlan cascade = fullres;
      cascade.name = "3d_cascade_fullres";
      cascade.previous_stage = "3d_lowres";
      plans.configurations["3d_lowres"] = *lowres;
      plans.configurations["3d_cascade_fullres"] = cascade;
    }
    plans.configurations["3d_fullres"] = fullres;
  }
  const std::vector<double> spacing_2d(spacing.begin() + 1, spacing.end());
  const std::vector<double> median_2d(median_shape.begin() + 1, median_shape.end());
  ConfigurationPlan plan_2d = plan_configuration(
      {"2d", data_identifier(preset, "2d"), spacing_2d, median_2d, n_voxels_dataset, classes},
      preset, gpu);
  plan_2d.batch_dice = true;
  set_normalization(plan_2d, fp, dataset);
  plans.configurations["2d"] = plan_2d;
  return plans;
}

}  // namespace medseg
