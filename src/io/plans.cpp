#include "medseg/io/plans.h"

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"

namespace medseg {

using nlohmann::json;

const ConfigurationPlan& Plans::configuration(const std::string& name) const {
  const auto it = configurations.find(name);
  if (it != configurations.end()) return it->second;
  std::string available;
  for (const auto& [key, value] : configurations) available += (available.empty() ? "" : ", ") + key;
  throw Error("plans.json", "no configuration '" + name + "' (planned: " + available + ")");
}

json to_json(const IntensityProperties& p) {
  return {{"mean", p.mean}, {"median", p.median}, {"std", p.std}, {"min", p.min}, {"max", p.max},
          {"percentile_00_5", p.percentile_00_5}, {"percentile_99_5", p.percentile_99_5}};
}

IntensityProperties intensity_properties_from_json(const json& j, const std::string& where) {
  JsonReader r(j, where, "foreground_intensity_properties_per_channel[]");
  IntensityProperties p;
  p.mean = r.get<double>("mean");
  p.median = r.get<double>("median");
  p.std = r.get<double>("std");
  p.min = r.get<double>("min");
  p.max = r.get<double>("max");
  p.percentile_00_5 = r.get<double>("percentile_00_5");
  p.percentile_99_5 = r.get<double>("percentile_99_5");
  r.reject_unknown_keys();
  return p;
}

namespace {

json to_json(const ArchitecturePlan& a) {
  return {{"network", a.network},
          {"n_stages", a.n_stages},
          {"features_per_stage", a.features_per_stage},
          {"kernel_sizes", a.kernel_sizes},
          {"strides", a.strides},
          {"n_conv_per_stage", a.n_conv_per_stage},
          {"n_conv_per_stage_decoder", a.n_conv_per_stage_decoder},
          {"conv_bias", a.conv_bias},
          {"norm_eps", a.norm_eps},
          {"leaky_relu_slope", a.leaky_relu_slope}};
}

ArchitecturePlan architecture_from(JsonReader r) {
  ArchitecturePlan a;
  a.network = r.get<std::string>("network");
  if (a.network != "PlainConvUNet" && a.network != "ResidualEncoderUNet")
    throw Error(r.where(), "'" + r.qualified("network") + "' must be PlainConvUNet or ResidualEncoderUNet, not " + a.network);
  a.n_stages = r.get<int>("n_stages");
  a.features_per_stage = r.get<std::vector<int>>("features_per_stage");
  a.kernel_sizes = r.get<std::vector<std::vector<int>>>("kernel_sizes");
  a.strides = r.get<std::vector<std::vector<int>>>("strides");
  a.n_conv_per_stage = r.get<std::vector<int>>("n_conv_per_stage");
  a.n_conv_per_stage_decoder = r.get<std::vector<int>>("n_conv_per_stage_decoder");
  a.conv_bias = r.get<bool>("conv_bias");
  a.norm_eps = r.get<double>("norm_eps");
  a.leaky_relu_slope = r.get<double>("leaky_relu_slope");
  r.reject_unknown_keys();
  const size_t n = static_cast<size_t>(a.n_stages);
  if (n < 1 || a.features_per_stage.size() != n || a.kernel_sizes.size() != n || a.strides.size() != n ||
      a.n_conv_per_stage.size() != n || a.n_conv_per_stage_decoder.size() != n - 1)
    throw Error(r.where(), "'" + r.qualified("") + "' per-stage lists do not match n_stages = " + std::to_string(n));
  return a;
}

ConfigurationPlan configuration_from(JsonReader r, const std::string& name) {
  ConfigurationPlan c;
  c.name = name;
  c.data_identifier = r.get<std::string>("data_identifier");
  c.batch_size = r.get<int>("batch_size");
  c.patch_size = r.get<std::vector<int64_t>>("patch_size");
  c.median_image_size_in_voxels = r.get<std::vector<double>>("median_image_size_in_voxels");
  c.spacing = r.get<std::vector<double>>("spacing");
  c.normalization_schemes = r.get<std::vector<std::string>>("normalization_schemes");
  c.use_mask_for_norm = r.get<std::vector<bool>>("use_mask_for_norm");
  c.resampling_order_data = r.get<int>("resampling_order_data");
  c.resampling_order_seg = r.get<int>("resampling_order_seg");
  c.resampling_order_z = r.get<int>("resampling_order_z");
  c.batch_dice = r.get<bool>("batch_dice");
  c.architecture = architecture_from(r.child("architecture"));
  if (r.has("previous_stage")) c.previous_stage = r.get<std::string>("previous_stage");
  if (r.has("next_stage")) c.next_stage = r.get<std::string>("next_stage");
  r.reject_unknown_keys();
  const size_t dims = c.patch_size.size();
  if ((dims != 2 && dims != 3) || c.spacing.size() != dims || c.architecture.kernel_sizes.front().size() != dims)
    throw Error(r.where(), "'" + r.qualified("patch_size") + "', spacing and kernel sizes must all have 2 or 3 axes");
  if (c.batch_size < 1) throw Error(r.where(), "'" + r.qualified("batch_size") + "' must be at least 1");
  if (c.normalization_schemes.size() != c.use_mask_for_norm.size())
    throw Error(r.where(), "'" + r.qualified("use_mask_for_norm") + "' must have one entry per channel");
  return c;
}

}  // namespace

json to_json(const ConfigurationPlan& c) {
  json j = {{"data_identifier", c.data_identifier},
            {"batch_size", c.batch_size},
            {"patch_size", c.patch_size},
            {"median_image_size_in_voxels", c.median_image_size_in_voxels},
            {"spacing", c.spacing},
            {"normalization_schemes", c.normalization_schemes},
            {"use_mask_for_norm", c.use_mask_for_norm},
            {"resampling_order_data", c.resampling_order_data},
            {"resampling_order_seg", c.resampling_order_seg},
            {"resampling_order_z", c.resampling_order_z},
            {"batch_dice", c.batch_dice},
            {"architecture", to_json(c.architecture)}};
  if (c.previous_stage) j["previous_stage"] = *c.previous_stage;
  if (c.next_stage) j["next_stage"] = *c.next_stage;
  return j;
}

json to_json(const Plans& plans) {
  json configurations = json::object();
  for (const auto& [name, c] : plans.configurations) configurations[name] = to_json(c);
  json intensities = json::array();
  for (const auto& p : plans.foreground_intensity_properties_per_channel) intensities.push_back(to_json(p));
  return {{"schema_version", plans.schema_version},
          {"dataset_name", plans.dataset_name},
          {"plans_name", plans.plans_name},
          {"gpu_memory_target_gb", plans.gpu_memory_target_gb},
          {"original_median_spacing_after_transp", plans.original_median_spacing_after_transp},
          {"original_median_shape_after_transp", plans.original_median_shape_after_transp},
          {"transpose_forward", plans.transpose_forward},
          {"transpose_backward", plans.transpose_backward},
          {"configurations", configurations},
          {"foreground_intensity_properties_per_channel", intensities}};
}

Plans plans_from_json(const json& j, const std::string& where) {
  JsonReader r(j, where);
  Plans plans;
  plans.schema_version = r.get<int>("schema_version");
  if (plans.schema_version != kPlansSchemaVersion)
    throw Error(where, "plans schema_version " + std::to_string(plans.schema_version) + " is not supported (this medseg reads " +
                           std::to_string(kPlansSchemaVersion) + "); re-run medseg plan");
  plans.dataset_name = r.get<std::string>("dataset_name");
  plans.plans_name = r.get<std::string>("plans_name");
  plans.gpu_memory_target_gb = r.get<double>("gpu_memory_target_gb");
  plans.original_median_spacing_after_transp = r.get<std::vector<double>>("original_median_spacing_after_transp");
  plans.original_median_shape_after_transp = r.get<std::vector<double>>("original_median_shape_after_transp");
  plans.transpose_forward = r.get<std::vector<int>>("transpose_forward");
  plans.transpose_backward = r.get<std::vector<int>>("transpose_backward");
  JsonReader configurations = r.child("configurations");
  for (auto it = j.at("configurations").begin(); it != j.at("configurations").end(); ++it)
    plans.configurations[it.key()] = configuration_from(configurations.child(it.key()), it.key());
  for (const auto& p : r.at("foreground_intensity_properties_per_channel"))
    plans.foreground_intensity_properties_per_channel.push_back(intensity_properties_from_json(p, where));
  r.reject_unknown_keys();
  if (plans.configurations.empty()) throw Error(where, "plans hold no configuration");
  return plans;
}

Plans read_plans(const fs::path& path) { return plans_from_json(read_json(path), path.string()); }

void write_plans(const Plans& plans, const fs::path& path) { write_json(path, to_json(plans)); }

}  // namespace medseg
