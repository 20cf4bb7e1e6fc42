#include "medseg/qa/case_features.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/io/image.h"
#include "medseg/preprocess/connected_components.h"
#include "medseg/preprocess/crop.h"

namespace medseg {

namespace {

const char* const kFeatureAxes3d[] = {"z", "y", "x"};
const char* const kFeatureAxes2d[] = {"y", "x"};

// Linear interpolation between order statistics (numpy's default) of sorted values.
double features_sorted_quantile(const float* sorted, int64_t n, double q) {
  const double position = q * static_cast<double>(n - 1);
  const auto below = static_cast<int64_t>(std::floor(position));
  const int64_t above = std::min(below + 1, n - 1);
  const double t = position - static_cast<double>(below);
  return static_cast<double>(sorted[below]) * (1 - t) + static_cast<double>(sorted[above]) * t;
}

// Every k-th value of `values` (1D), at most kFeatureSampleVoxels of them, sorted.
at::Tensor features_sorted_sample(const at::Tensor& values) {
  at::Tensor sample = values;
  if (values.numel() > kFeatureSampleVoxels) {
    const int64_t step = (values.numel() + kFeatureSampleVoxels - 1) / kFeatureSampleVoxels;
    sample = values.slice(0, 0, values.numel(), step);
  }
  return std::get<0>(sample.to(torch::kFloat).contiguous().sort()).contiguous();
}

void add_intensity_features(CaseFeatures& f, int64_t channel, const at::Tensor& values) {
  const std::string prefix = "ch" + std::to_string(channel) + "_";
  if (values.numel() == 0) {  // an empty image: nothing to describe, everything 0
    for (const char* name : {"p01", "p50", "p99", "z05", "z25", "z75", "z95"})
      f.set(prefix + name, 0.0);
    return;
  }
  const at::Tensor sorted = features_sorted_sample(values);
  const float* v = sorted.data_ptr<float>();
  const int64_t n = sorted.numel();
  f.set(prefix + "p01", features_sorted_quantile(v, n, 0.01));
  f.set(prefix + "p50", features_sorted_quantile(v, n, 0.50));
  f.set(prefix + "p99", features_sorted_quantile(v, n, 0.99));
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < n; ++i) sum += v[i];
  const double mean = sum / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) squares += (v[i] - mean) * (v[i] - mean);
  const double std_dev = std::max(std::sqrt(squares / static_cast<double>(n)), 1e-8);
  for (const auto& [name, q] :
       {std::pair<const char*, double>{"z05", 0.05}, {"z25", 0.25}, {"z75", 0.75}, {"z95", 0.95}})
    f.set(prefix + name, (features_sorted_quantile(v, n, q) - mean) / std_dev);
}

}  // namespace

double CaseFeatures::at(const std::string& name) const {
  if (const double* v = find(name)) return *v;
  throw Error("case " + case_id, "has no feature '" + name + "'");
}

const double* CaseFeatures::find(const std::string& name) const {
  for (const auto& [key, value] : values)
    if (key == name) return &value;
  return nullptr;
}

void CaseFeatures::set(const std::string& name, double value) {
  for (auto& [key, v] : values)
    if (key == name) {
      v = value;
      return;
    }
  values.emplace_back(name, value);
}

std::string volume_feature(const std::string& label_name) {
  return "volume_" + label_name;
}
std::string components_feature(const std::string& label_name) {
  return "components_" + label_name;
}

CaseFeatures compute_case_features(const std::string& case_id, const at::Tensor& data,
                                   const std::vector<double>& spacing, const at::Tensor& labels,
                                   const DatasetInfo& dataset) {
  const std::string where = "case " + case_id;
  const int64_t dims = data.dim() - 1;
  if ((dims != 2 && dims != 3) || static_cast<int64_t>(spacing.size()) != dims)
    throw Error(where,
                "features need (channels, y, x) or (channels, z, y, x) data with a "
                "spacing per spatial axis");
  if (labels.defined() && !labels.sizes().equals(data.sizes().slice(1)))
    throw Error(where, "the label map's shape differs from the image's");
  CaseFeatures f;
  f.case_id = case_id;
  const char* const* axes = dims == 3 ? kFeatureAxes3d : kFeatureAxes2d;
  for (int64_t a = 0; a < dims; ++a) f.set(std::string("spacing_") + axes[a], spacing[a]);
  const at::Tensor inside = nonzero_mask(data);
  const BoundingBox box = bounding_box(inside);
  const std::vector<int64_t> extent = box.shape();
  for (int64_t a = 0; a < dims; ++a)
    f.set(std::string("extent_") + axes[a], static_cast<double>(extent[a]) * spacing[a]);
  for (int64_t c = 0; c < data.size(0); ++c)
    add_intensity_features(f, c, data[c].masked_select(inside));
  if (!labels.defined()) return f;
  double voxel_mm3 = 1;
  for (double s : spacing) voxel_mm3 *= s;
  // One boolean mask at a time (no copy of the label map in a wider type: a 512x512x300
  // prediction stays a few hundred MB lighter).
  for (const LabelInfo& label : dataset.foreground()) {
    at::Tensor mask;
    for (int v : label.values) {
      const at::Tensor m = labels.eq(v);
      mask = mask.defined() ? mask.logical_or_(m) : m;
    }
    const int64_t voxels = mask.defined() ? mask.sum().item<int64_t>() : 0;
    f.set(volume_feature(label.name), static_cast<double>(voxels) * voxel_mm3);
    f.set(components_feature(label.name),
          voxels == 0 ? 0.0 : static_cast<double>(label_components(mask).sizes.size()));
  }
  return f;
}

CaseFeatures case_features_of_files(const std::string& case_id,
                                    const std::vector<std::filesystem::path>& images,
                                    const std::filesystem::path& labels_file,
                                    const DatasetInfo& dataset) {
  if (images.empty()) throw Error("case " + case_id, "has no image file");
  std::vector<at::Tensor> channels;
  std::vector<double> spacing;
  for (const auto& file : images) {
    Image image = read_image(file);
    if (!channels.empty() && !image.data.sizes().equals(channels.front().sizes()))
      throw Error(file.string(), "differs in shape from " + images.front().string());
    if (spacing.empty()) spacing = image.geometry.spacing;
    channels.push_back(image.data.to(torch::kFloat));
  }
  at::Tensor labels;
  if (!labels_file.empty()) {
    labels = read_image(labels_file).data;
    if (!labels.sizes().equals(channels.front().sizes()))
      throw Error(labels_file.string(), "differs in shape from " + images.front().string());
  }
  return compute_case_features(case_id, torch::stack(channels), spacing, labels, dataset);
}

nlohmann::json to_json(const CaseFeatures& features) {
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [name, value] : features.values) values[name] = value;
  return {{"case", features.case_id}, {"features", values}};
}

CaseFeatures case_features_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("case") || !j["case"].is_string() || !j.contains("features") ||
      !j["features"].is_object())
    throw Error(where, "a case's features need 'case' (a string) and 'features' (an object)");
  CaseFeatures f;
  f.case_id = j["case"].get<std::string>();
  for (const auto& [name, value] : j["features"].items()) {
    if (!value.is_number())
      throw Error(where, "case " + f.case_id + ": feature '" + name + "' is not a number");
    f.values.emplace_back(name, value.get<double>());
  }
  return f;
}

}  // namespace medseg
