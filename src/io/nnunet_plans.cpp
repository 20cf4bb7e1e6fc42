#include "medseg/io/nnunet_plans.h"

#include <algorithm>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"

namespace medseg {

using nlohmann::json;

namespace {

constexpr int kMaxInheritance = 16;

std::string last_name(const std::string& qualified) {
  const size_t dot = qualified.rfind('.');
  return dot == std::string::npos ? qualified : qualified.substr(dot + 1);
}

[[noreturn]] void unsupported(const JsonReader& r, const std::string& key,
                              const std::string& what) {
  throw Error(r.where(), "'" + r.qualified(key) + "': " + what);
}

// "torch.nn.modules.conv.Conv3d" or "torch.nn.Conv3d" -> "Conv3d"; other modules are refused.
std::string torch_nn_class(JsonReader& r, const std::string& key) {
  const std::string name = r.get<std::string>(key);
  if (name.rfind("torch.nn.", 0) != 0)
    unsupported(r, key, "'" + name + "' is not a torch.nn class medseg builds");
  return last_name(name);
}

ArchitecturePlan architecture_from_nnunet(JsonReader r, int dims) {
  ArchitecturePlan a;
  const std::string network = r.get<std::string>("network_class_name");
  if (network == kNnunetPlainConvUNet)
    a.network = "PlainConvUNet";
  else if (network == kNnunetResidualEncoderUNet)
    a.network = "ResidualEncoderUNet";
  else
    unsupported(r, "network_class_name",
                "'" + network +
                    "' is not a network medseg builds (PlainConvUNet or "
                    "ResidualEncoderUNet of dynamic_network_architectures)");
  for (const auto& name : r.get<std::vector<std::string>>("_kw_requires_import"))
    if (name != "conv_op" && name != "norm_op" && name != "dropout_op" && name != "nonlin")
      unsupported(r, "_kw_requires_import", "'" + name + "' is not an argument medseg knows");
  JsonReader k = r.child("arch_kwargs");
  a.n_stages = k.get<int>("n_stages");
  a.features_per_stage = k.get<std::vector<int>>("features_per_stage");
  a.kernel_sizes = k.get<std::vector<std::vector<int>>>("kernel_sizes");
  a.strides = k.get<std::vector<std::vector<int>>>("strides");
  a.n_conv_per_stage = k.get<std::vector<int>>(a.network == "PlainConvUNet" ? "n_conv_per_stage"
                                                                            : "n_blocks_per_stage");
  a.n_conv_per_stage_decoder = k.get<std::vector<int>>("n_conv_per_stage_decoder");
  a.conv_bias = k.get<bool>("conv_bias");
  const std::string dim_suffix = std::to_string(dims) + "d";
  if (torch_nn_class(k, "conv_op") != "Conv" + dim_suffix)
    unsupported(k, "conv_op", "must be torch.nn.Conv" + dim_suffix + " for this configuration");
  if (torch_nn_class(k, "norm_op") != "InstanceNorm" + dim_suffix)
    unsupported(k, "norm_op", "only InstanceNorm" + dim_suffix + " is built by medseg");
  JsonReader norm = k.child("norm_op_kwargs");
  a.norm_eps = norm.get_or<double>("eps", 1e-5);
  if (!norm.get_or<bool>("affine", false))
    unsupported(norm, "affine", "medseg's instance norm is affine; must be true");
  norm.reject_unknown_keys();
  if (!k.at("dropout_op").is_null())
    unsupported(k, "dropout_op", "must be null (medseg builds no dropout)");
  if (k.has("dropout_op_kwargs") && !k.at("dropout_op_kwargs").is_null())
    unsupported(k, "dropout_op_kwargs", "must be null (medseg builds no dropout)");
  const std::string nonlin = torch_nn_class(k, "nonlin");
  if (nonlin != "LeakyReLU" && nonlin != "ReLU")
    unsupported(k, "nonlin", "only LeakyReLU (or ReLU) is built by medseg");
  a.leaky_relu_slope = nonlin == "ReLU" ? 0.0 : 1e-2;
  if (k.has("nonlin_kwargs") && !k.at("nonlin_kwargs").is_null()) {
    JsonReader act = k.child("nonlin_kwargs");
    act.get_or<bool>("inplace", true);
    if (nonlin == "LeakyReLU") a.leaky_relu_slope = act.get_or<double>("negative_slope", 1e-2);
    act.reject_unknown_keys();
  }
  // Arguments with the defaults medseg builds, accepted only with those values.
  if (k.has("deep_supervision")) k.get<bool>("deep_supervision");  // set by the predictor
  if (k.has("nonlin_first") && k.get<bool>("nonlin_first"))
    unsupported(k, "nonlin_first", "must be false (medseg: conv, norm, nonlinearity)");
  if (a.network == "ResidualEncoderUNet") {
    if (k.has("block") && last_name(k.get<std::string>("block")) != "BasicBlockD")
      unsupported(k, "block", "only BasicBlockD residual blocks are built by medseg");
    if (k.has("bottleneck_channels") && !k.at("bottleneck_channels").is_null())
      unsupported(k, "bottleneck_channels", "must be null (no bottleneck blocks in medseg)");
    if (k.has("stem_channels") && !k.at("stem_channels").is_null() &&
        (a.features_per_stage.empty() ||
         k.get<int>("stem_channels") != a.features_per_stage.front()))
      unsupported(k, "stem_channels", "must be null or features_per_stage[0]");
  }
  k.reject_unknown_keys();
  r.reject_unknown_keys();
  return a;
}

// The resampling of one kind (data, seg, probabilities): the reference's default function with
// its order; a forced separate-z decision is not what medseg does.
void resampling_from_nnunet(JsonReader& r, const std::string& kind, int& order, int& order_z) {
  const std::string fn = "resampling_fn_" + kind;
  if (r.get<std::string>(fn) != "resample_data_or_seg_to_shape")
    unsupported(r, fn, "only resample_data_or_seg_to_shape is what medseg resamples with");
  JsonReader kw = r.child(fn + "_kwargs");
  kw.get_or<bool>("is_seg", false);
  order = kw.get<int>("order");
  order_z = kw.get_or<int>("order_z", 0);
  if (kw.has("force_separate_z") && !kw.at("force_separate_z").is_null())
    unsupported(kw, "force_separate_z", "must be null (medseg decides separate z by anisotropy)");
  kw.reject_unknown_keys();
}

ConfigurationPlan configuration_from_nnunet(JsonReader r, const std::string& name) {
  ConfigurationPlan c;
  c.name = name;
  c.data_identifier = r.get<std::string>("data_identifier");
  if (r.get_or<std::string>("preprocessor_name", "DefaultPreprocessor") != "DefaultPreprocessor")
    unsupported(r, "preprocessor_name", "only DefaultPreprocessor is what medseg preprocesses as");
  c.batch_size = r.get<int>("batch_size");
  c.patch_size = r.get<std::vector<int64_t>>("patch_size");
  c.median_image_size_in_voxels = r.get<std::vector<double>>("median_image_size_in_voxels");
  c.spacing = r.get<std::vector<double>>("spacing");
  c.normalization_schemes = r.get<std::vector<std::string>>("normalization_schemes");
  c.use_mask_for_norm = r.get<std::vector<bool>>("use_mask_for_norm");
  int seg_order_z = 0, prob_order = 1, prob_order_z = 0;
  resampling_from_nnunet(r, "data", c.resampling_order_data, c.resampling_order_z);
  resampling_from_nnunet(r, "seg", c.resampling_order_seg, seg_order_z);
  resampling_from_nnunet(r, "probabilities", prob_order, prob_order_z);
  if (seg_order_z != c.resampling_order_z)
    unsupported(r, "resampling_fn_seg_kwargs",
                "order_z must equal resampling_fn_data_kwargs.order_z (medseg uses one)");
  // medseg's export: linear (order 1), nearest (order 0) along a separate z.
  if (prob_order != 1 || prob_order_z != 0)
    unsupported(r, "resampling_fn_probabilities_kwargs", "medseg exports with order 1, order_z 0");
  c.batch_dice = r.get<bool>("batch_dice");
  const size_t dims = c.patch_size.size();
  if (dims != 2 && dims != 3) unsupported(r, "patch_size", "must have 2 or 3 axes");
  c.architecture = architecture_from_nnunet(r.child("architecture"), static_cast<int>(dims));
  if (r.has("previous_stage") && !r.at("previous_stage").is_null())
    c.previous_stage = r.get<std::string>("previous_stage");
  if (r.has("next_stage") && !r.at("next_stage").is_null()) {
    const json& next = r.at("next_stage");
    if (next.is_string())
      c.next_stage = next.get<std::string>();
    else if (next.is_array() && next.size() == 1 && next[0].is_string())
      c.next_stage = next[0].get<std::string>();
    else
      unsupported(r, "next_stage", "must name one configuration");
  }
  r.reject_unknown_keys();
  if (c.spacing.size() != dims || c.architecture.kernel_sizes.empty() ||
      c.architecture.kernel_sizes.front().size() != dims)
    unsupported(r, "patch_size", "spacing and kernel sizes must have its number of axes");
  if (c.normalization_schemes.size() != c.use_mask_for_norm.size())
    unsupported(r, "use_mask_for_norm", "must have one entry per channel");
  return c;
}

// A configuration with inherits_from merged over its parents (keys of the child win).
json resolved_configuration(const json& all, const std::string& name, const std::string& where) {
  json merged = json::object();
  std::vector<std::string> chain{name};
  for (int depth = 0;; ++depth) {
    const json& c = all.at(chain.back());
    if (!c.is_object()) throw Error(where, "'configurations." + chain.back() + "' is no object");
    if (!c.contains("inherits_from")) break;
    if (!c["inherits_from"].is_string())
      throw Error(where, "'configurations." + chain.back() + ".inherits_from' is no string");
    const std::string parent = c["inherits_from"].get<std::string>();
    if (!all.contains(parent))
      throw Error(where, "'configurations." + chain.back() + ".inherits_from' names '" + parent +
                             "', which is not in the file");
    if (depth >= kMaxInheritance || std::find(chain.begin(), chain.end(), parent) != chain.end())
      throw Error(where, "'configurations." + name + ".inherits_from' is circular");
    chain.push_back(parent);
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) merged.update(all.at(*it));
  merged.erase("inherits_from");
  return merged;
}

json nnunet_resampling_kwargs(bool is_seg, int order, int order_z) {
  return {
      {"is_seg", is_seg}, {"order", order}, {"order_z", order_z}, {"force_separate_z", nullptr}};
}

json nnunet_architecture_json(const ArchitecturePlan& a, int dims, const std::string& where) {
  const std::string d = std::to_string(dims) + "d";
  json kwargs = {{"n_stages", a.n_stages},
                 {"features_per_stage", a.features_per_stage},
                 {"conv_op", "torch.nn.modules.conv.Conv" + d},
                 {"kernel_sizes", a.kernel_sizes},
                 {"strides", a.strides},
                 {"n_conv_per_stage_decoder", a.n_conv_per_stage_decoder},
                 {"conv_bias", a.conv_bias},
                 {"norm_op", "torch.nn.modules.instancenorm.InstanceNorm" + d},
                 {"norm_op_kwargs", {{"eps", a.norm_eps}, {"affine", true}}},
                 {"dropout_op", nullptr},
                 {"dropout_op_kwargs", nullptr}};
  std::string network;
  if (a.network == "PlainConvUNet") {
    network = kNnunetPlainConvUNet;
    kwargs["n_conv_per_stage"] = a.n_conv_per_stage;
  } else if (a.network == "ResidualEncoderUNet") {
    network = kNnunetResidualEncoderUNet;
    kwargs["n_blocks_per_stage"] = a.n_conv_per_stage;
  } else {
    throw Error(where, "network '" + a.network +
                           "' has no class in the reference's "
                           "dynamic_network_architectures");
  }
  if (a.leaky_relu_slope == 0) {
    kwargs["nonlin"] = "torch.nn.ReLU";
    kwargs["nonlin_kwargs"] = {{"inplace", true}};
  } else {
    kwargs["nonlin"] = "torch.nn.LeakyReLU";
    kwargs["nonlin_kwargs"] = {{"inplace", true}};
    if (a.leaky_relu_slope != 1e-2) kwargs["nonlin_kwargs"]["negative_slope"] = a.leaky_relu_slope;
  }
  return {{"network_class_name", network},
          {"arch_kwargs", kwargs},
          {"_kw_requires_import", {"conv_op", "norm_op", "dropout_op", "nonlin"}}};
}

json nnunet_configuration_json(const ConfigurationPlan& c, const std::string& where) {
  const std::string at = where + ": configuration " + c.name;
  if (c.spatial_dims() != 2 && c.spatial_dims() != 3)
    throw Error(at, "has a patch of " + std::to_string(c.spatial_dims()) +
                        " axes; the reference predicts 2D and 3D configurations");
  json j = {{"data_identifier", c.data_identifier},
            {"preprocessor_name", "DefaultPreprocessor"},
            {"batch_size", c.batch_size},
            {"patch_size", c.patch_size},
            {"median_image_size_in_voxels", c.median_image_size_in_voxels},
            {"spacing", c.spacing},
            {"normalization_schemes", c.normalization_schemes},
            {"use_mask_for_norm", c.use_mask_for_norm},
            {"resampling_fn_data", "resample_data_or_seg_to_shape"},
            {"resampling_fn_seg", "resample_data_or_seg_to_shape"},
            {"resampling_fn_data_kwargs",
             nnunet_resampling_kwargs(false, c.resampling_order_data, c.resampling_order_z)},
            {"resampling_fn_seg_kwargs",
             nnunet_resampling_kwargs(true, c.resampling_order_seg, c.resampling_order_z)},
            {"resampling_fn_probabilities", "resample_data_or_seg_to_shape"},
            // medseg's export: linear, nearest along a separate z (what the reader accepts).
            {"resampling_fn_probabilities_kwargs", nnunet_resampling_kwargs(false, 1, 0)},
            {"architecture", nnunet_architecture_json(c.architecture, c.spatial_dims(), at)},
            {"batch_dice", c.batch_dice}};
  if (c.previous_stage) j["previous_stage"] = *c.previous_stage;
  if (c.next_stage) j["next_stage"] = *c.next_stage;
  return j;
}

}  // namespace

json to_nnunet_json(const Plans& plans, const std::string& where) {
  json configurations = json::object();
  for (const auto& [name, c] : plans.configurations)
    configurations[name] = nnunet_configuration_json(c, where);
  json intensities = json::object();
  for (size_t i = 0; i < plans.foreground_intensity_properties_per_channel.size(); ++i)
    intensities[std::to_string(i)] = to_json(plans.foreground_intensity_properties_per_channel[i]);
  return {{"dataset_name", plans.dataset_name},
          {"plans_name", plans.plans_name},
          {"original_median_spacing_after_transp", plans.original_median_spacing_after_transp},
          {"original_median_shape_after_transp", plans.original_median_shape_after_transp},
          {"image_reader_writer", "SimpleITKIO"},
          {"transpose_forward", plans.transpose_forward},
          {"transpose_backward", plans.transpose_backward},
          {"experiment_planner_used", "medseg"},
          {"label_manager", "LabelManager"},
          {"configurations", configurations},
          {"foreground_intensity_properties_per_channel", intensities}};
}

bool is_nnunet_plans(const json& plans) {
  if (!plans.is_object() || plans.contains("schema_version") || !plans.contains("configurations") ||
      !plans["configurations"].is_object())
    return false;
  for (const auto& [name, c] : plans["configurations"].items())
    if (c.is_object() && c.contains("architecture") && c["architecture"].is_object() &&
        c["architecture"].contains("network_class_name"))
      return true;
  return false;
}

Plans plans_from_nnunet_json(const json& j, const std::string& where) {
  JsonReader r(j, where);
  Plans plans;
  plans.dataset_name = r.get<std::string>("dataset_name");
  plans.plans_name = r.get<std::string>("plans_name");
  plans.original_median_spacing_after_transp =
      r.get<std::vector<double>>("original_median_spacing_after_transp");
  plans.original_median_shape_after_transp =
      r.get<std::vector<double>>("original_median_shape_after_transp");
  const std::string io = r.get_or<std::string>("image_reader_writer", "SimpleITKIO");
  if (io != "SimpleITKIO" && io != "NibabelIO")
    unsupported(r, "image_reader_writer",
                "'" + io + "': medseg reads images as SimpleITKIO (or NibabelIO) does");
  plans.transpose_forward = r.get<std::vector<int>>("transpose_forward");
  plans.transpose_backward = r.get<std::vector<int>>("transpose_backward");
  r.get_or<std::string>("experiment_planner_used", "");
  if (r.get_or<std::string>("label_manager", "LabelManager") != "LabelManager")
    unsupported(r, "label_manager", "only LabelManager is what medseg labels with");
  const json& configurations = r.at("configurations");
  if (!configurations.is_object() || configurations.empty())
    unsupported(r, "configurations", "must hold at least one configuration");
  for (const auto& [name, value] : configurations.items()) {
    const json merged = resolved_configuration(configurations, name, where);
    plans.configurations[name] =
        configuration_from_nnunet(JsonReader(merged, where, "configurations." + name), name);
  }
  const json& intensities = r.at("foreground_intensity_properties_per_channel");
  if (!intensities.is_object())
    unsupported(r, "foreground_intensity_properties_per_channel", "must be an object");
  for (size_t c = 0; c < intensities.size(); ++c) {
    const std::string key = std::to_string(c);
    if (!intensities.contains(key))
      unsupported(r, "foreground_intensity_properties_per_channel",
                  "has no entry '" + key + "' (channels must be numbered 0, 1, ...)");
    plans.foreground_intensity_properties_per_channel.push_back(
        intensity_properties_from_json(intensities.at(key), where));
  }
  r.reject_unknown_keys();
  // What medseg's own plans reader checks, through its own reader: one path for both schemas.
  return plans_from_json(to_json(plans), where);
}

Plans read_nnunet_plans(const std::filesystem::path& path) {
  return plans_from_nnunet_json(read_json(path), path.string());
}

}  // namespace medseg
