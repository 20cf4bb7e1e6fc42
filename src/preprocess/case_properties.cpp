#include "medseg/preprocess/case_properties.h"

#include "medseg/core/error.h"
#include "medseg/core/json_reader.h"

namespace medseg {

using nlohmann::json;

namespace {

// Coordinates as one flat list (z, y, x, z, y, x, ...): one JSON array per case and class
// instead of one per voxel keeps writing and reading fast.
json to_json(const ClassLocations& c) {
  return {
      {"name", c.name}, {"values", c.values}, {"voxels", c.voxels}, {"coordinates", c.coordinates}};
}

ClassLocations class_locations_from(JsonReader r, int64_t dims) {
  ClassLocations c;
  c.name = r.get<std::string>("name");
  c.values = r.get<std::vector<int>>("values");
  c.voxels = r.get<int64_t>("voxels");
  c.coordinates = r.get<std::vector<int64_t>>("coordinates");
  if (dims > 0 && c.coordinates.size() % static_cast<size_t>(dims) != 0)
    throw Error(r.where(), "'" + r.qualified("coordinates") + "' of class '" + c.name +
                               "' must hold " + std::to_string(dims) + " numbers per voxel");
  r.reject_unknown_keys();
  return c;
}

void check_length(size_t actual, size_t expected, const std::string& key,
                  const std::string& where) {
  if (actual != expected)
    throw Error(where, "'" + key + "' has " + std::to_string(actual) + " entries, expected " +
                           std::to_string(expected));
}

}  // namespace

json to_json(const CaseProperties& p) {
  json locations = json::array();
  for (const auto& c : p.class_locations) locations.push_back(to_json(c));
  return {{"format_version", kCasePropertiesVersion},
          {"original_shape", p.original_shape},
          {"original_spacing", p.original_geometry.spacing},
          {"original_origin", p.original_geometry.origin},
          {"original_direction", p.original_geometry.direction},
          {"transpose_forward", p.transpose_forward},
          {"spacing_after_transpose", p.spacing_after_transpose},
          {"shape_before_cropping", p.shape_before_cropping},
          {"crop_box", {{"begin", p.crop_box.begin}, {"end", p.crop_box.end}}},
          {"shape_after_cropping", p.shape_after_cropping},
          {"target_spacing", p.target_spacing},
          {"shape_after_resampling", p.shape_after_resampling},
          {"separate_z_axis", p.separate_z_axis ? json(*p.separate_z_axis) : json(nullptr)},
          {"class_locations", locations}};
}

CaseProperties case_properties_from_json(const json& j, const std::string& where) {
  JsonReader r(j, where);
  const int version = r.get<int>("format_version");
  if (version != kCasePropertiesVersion)
    throw Error(where, "case properties format_version " + std::to_string(version) +
                           " is not supported; re-run medseg preprocess --overwrite");
  CaseProperties p;
  p.original_shape = r.get<std::vector<int64_t>>("original_shape");
  p.original_geometry.spacing = r.get<std::vector<double>>("original_spacing");
  p.original_geometry.origin = r.get<std::vector<double>>("original_origin");
  p.original_geometry.direction = r.get<std::vector<double>>("original_direction");
  p.transpose_forward = r.get<std::vector<int>>("transpose_forward");
  p.spacing_after_transpose = r.get<std::vector<double>>("spacing_after_transpose");
  p.shape_before_cropping = r.get<std::vector<int64_t>>("shape_before_cropping");
  JsonReader box = r.child("crop_box");
  p.crop_box.begin = box.get<std::vector<int64_t>>("begin");
  p.crop_box.end = box.get<std::vector<int64_t>>("end");
  box.reject_unknown_keys();
  p.shape_after_cropping = r.get<std::vector<int64_t>>("shape_after_cropping");
  p.target_spacing = r.get<std::vector<double>>("target_spacing");
  p.shape_after_resampling = r.get<std::vector<int64_t>>("shape_after_resampling");
  if (!r.at("separate_z_axis").is_null()) p.separate_z_axis = r.get<int64_t>("separate_z_axis");
  const size_t dims = p.shape_after_resampling.size();
  for (const auto& c : r.at("class_locations"))
    p.class_locations.push_back(class_locations_from(JsonReader(c, where, "class_locations[]"),
                                                     static_cast<int64_t>(dims)));
  r.reject_unknown_keys();
  const size_t input_dims = p.original_shape.size();
  check_length(p.original_geometry.spacing.size(), input_dims, "original_spacing", where);
  check_length(p.original_geometry.origin.size(), input_dims, "original_origin", where);
  check_length(p.original_geometry.direction.size(), input_dims * input_dims, "original_direction",
               where);
  for (const auto& [key, size] : std::vector<std::pair<std::string, size_t>>{
           {"transpose_forward", p.transpose_forward.size()},
           {"spacing_after_transpose", p.spacing_after_transpose.size()},
           {"shape_before_cropping", p.shape_before_cropping.size()},
           {"crop_box.begin", p.crop_box.begin.size()},
           {"crop_box.end", p.crop_box.end.size()},
           {"shape_after_cropping", p.shape_after_cropping.size()},
           {"target_spacing", p.target_spacing.size()}})
    check_length(size, dims, key, where);
  return p;
}

}  // namespace medseg
