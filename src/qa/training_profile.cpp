#include "medseg/qa/training_profile.h"

#include <algorithm>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

std::vector<CaseFeatures> profile_cases_from_json(const nlohmann::json& j, const std::string& key,
                                                  const std::string& where) {
  if (!j.contains(key) || !j[key].is_array())
    throw Error(where, "key '" + key + "' must be a list of cases");
  std::vector<CaseFeatures> cases;
  for (const auto& c : j[key]) cases.push_back(case_features_from_json(c, where));
  return cases;
}

nlohmann::json profile_cases_to_json(const std::vector<CaseFeatures>& cases) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : cases) list.push_back(to_json(c));
  return list;
}

}  // namespace

nlohmann::json to_json(const TrainingProfile& p) {
  return {{"version", kTrainingProfileVersion},
          {"normalization_schemes", p.normalization_schemes},
          {"cases", profile_cases_to_json(p.cases)}};
}

TrainingProfile training_profile_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where, "a training profile must be a JSON object");
  if (!j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int>() != kTrainingProfileVersion)
    throw Error(where, "key 'version' must be " + std::to_string(kTrainingProfileVersion) +
                           " (written by another medseg version?)");
  TrainingProfile p;
  p.source = where;
  if (!j.contains("normalization_schemes") || !j["normalization_schemes"].is_array())
    throw Error(where, "key 'normalization_schemes' must be a list of strings");
  for (const auto& s : j["normalization_schemes"]) {
    if (!s.is_string()) throw Error(where, "key 'normalization_schemes' must hold strings");
    p.normalization_schemes.push_back(s.get<std::string>());
  }
  p.cases = profile_cases_from_json(j, "cases", where);
  if (p.cases.empty()) throw Error(where, "key 'cases' is empty: no training case to compare with");
  return p;
}

TrainingProfile read_training_profile(const fs::path& file) {
  return training_profile_from_json(read_json(file), file.string());
}

void write_training_profile(const TrainingProfile& profile, const fs::path& file) {
  write_json(file, to_json(profile));
}

void write_case_features(const std::vector<CaseFeatures>& cases, const fs::path& file) {
  write_json(file, {{"version", kTrainingProfileVersion}, {"cases", profile_cases_to_json(cases)}});
}

std::vector<CaseFeatures> read_case_features(const fs::path& file) {
  const nlohmann::json j = read_json(file);
  if (!j.is_object()) throw Error(file.string(), "must be a JSON object with key 'cases'");
  return profile_cases_from_json(j, "cases", file.string());
}

std::optional<TrainingProfile> load_model_profile(const fs::path& model_dir) {
  const fs::path file = model_dir / kTrainingProfileFile;
  if (!fs::exists(file)) return std::nullopt;
  TrainingProfile p = read_training_profile(file);
  std::vector<fs::path> folds;
  for (const auto& entry : fs::directory_iterator(model_dir))
    if (entry.is_directory() && entry.path().filename().string().rfind("fold_", 0) == 0 &&
        fs::exists(entry.path() / "validation" / kValidationFeaturesFile))
      folds.push_back(entry.path() / "validation" / kValidationFeaturesFile);
  std::sort(folds.begin(), folds.end());
  for (const fs::path& f : folds)
    for (CaseFeatures& c : read_case_features(f)) p.validation_predictions.push_back(std::move(c));
  return p;
}

bool compare_with_validation_volumes(const TrainingProfile& profile) {
  const size_t n = profile.validation_predictions.size();
  return n >= kMinProfileCases && 2 * n >= profile.cases.size();
}

std::string volume_reference_name(const TrainingProfile& profile) {
  return compare_with_validation_volumes(profile) ? "cross-validation predictions"
                                                  : "training labels";
}

bool normalization_keeps_units(const std::string& scheme) {
  return scheme == "CTNormalization" || scheme == "NoNormalization";
}

}  // namespace medseg
