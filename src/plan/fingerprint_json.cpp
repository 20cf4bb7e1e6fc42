// dataset_fingerprint.json: the fingerprint to and from JSON. Apart from its extraction
// (fingerprint.cpp), so that the reader needs neither libtorch nor ITK (the JSON fuzz target
// links it).
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "medseg/plan/fingerprint.h"

namespace medseg {

using nlohmann::json;

json to_json(const DatasetFingerprint& f) {
  json intensities = json::object();
  for (size_t c = 0; c < f.foreground_intensity_properties_per_channel.size(); ++c)
    intensities[std::to_string(c)] = to_json(f.foreground_intensity_properties_per_channel[c]);
  return {{"spacings", f.spacings},
          {"shapes_after_crop", f.shapes_after_crop},
          {"median_relative_size_after_cropping", f.median_relative_size_after_cropping},
          {"foreground_intensity_properties_per_channel", intensities}};
}

DatasetFingerprint fingerprint_from_json(const json& j, const std::string& where) {
  JsonReader r(j, where);
  DatasetFingerprint f;
  f.spacings = r.get<std::vector<std::vector<double>>>("spacings");
  f.shapes_after_crop = r.get<std::vector<std::vector<int64_t>>>("shapes_after_crop");
  f.median_relative_size_after_cropping = r.get<double>("median_relative_size_after_cropping");
  const json& intensities = r.at("foreground_intensity_properties_per_channel");
  if (!intensities.is_object() || intensities.empty())
    throw Error(where,
                "'foreground_intensity_properties_per_channel' must be an object keyed by channel "
                "(\"0\", ...)");
  for (size_t c = 0; c < intensities.size(); ++c) {
    const std::string key = std::to_string(c);
    if (!intensities.contains(key))
      throw Error(where,
                  "'foreground_intensity_properties_per_channel' has no channel \"" + key + "\"");
    f.foreground_intensity_properties_per_channel.push_back(
        intensity_properties_from_json(intensities.at(key), where));
  }
  r.reject_unknown_keys();
  if (f.spacings.empty()) throw Error(where, "the fingerprint holds no case");
  if (f.spacings.size() != f.shapes_after_crop.size())
    throw Error(where, "'spacings' has " + std::to_string(f.spacings.size()) +
                           " cases but 'shapes_after_crop' has " +
                           std::to_string(f.shapes_after_crop.size()));
  for (size_t i = 0; i < f.spacings.size(); ++i)
    if (f.spacings[i].size() != 3 || f.shapes_after_crop[i].size() != 3)
      throw Error(where, "case " + std::to_string(i) +
                             ": 'spacings' and 'shapes_after_crop' entries must have 3 axes");
  return f;
}

DatasetFingerprint read_fingerprint(const fs::path& path) {
  return fingerprint_from_json(read_json(path), path.string());
}

void write_fingerprint(const DatasetFingerprint& f, const fs::path& path) {
  write_json(path, to_json(f));
}

}  // namespace medseg
