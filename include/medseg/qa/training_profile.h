// What a model saw in training (training_profile.json in the model folder): the features of
// every training case (qa/case_features.h, computed by `medseg plan` from the raw images and
// labels), the channels' normalisation schemes, and, once folds have finished, the volumes that
// cross-validation predicted for each held-out case (fold_<k>/validation/case_features.json).
// The out-of-distribution check (qa/ood.h) and `medseg drift` compare new scans with it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"
#include "medseg/qa/case_features.h"

namespace medseg {

inline constexpr int kTrainingProfileVersion = 1;
inline constexpr const char* kTrainingProfileFile = "training_profile.json";
// Written by `medseg plan` next to dataset_fingerprint.json; `medseg train` copies it into the
// model folder as training_profile.json.
inline constexpr const char* kCaseFeaturesFile = "case_features.json";
// Written by each fold's final validation: the features of its predicted validation cases.
inline constexpr const char* kValidationFeaturesFile = "case_features.json";

struct TrainingProfile {
  std::vector<std::string> normalization_schemes;  // per channel, as the plans say
  std::vector<CaseFeatures> cases;                 // the training cases (ground-truth volumes)
  // Cross-validation's predictions of the held-out cases (their volumes), when folds have
  // finished; empty otherwise.
  std::vector<CaseFeatures> validation_predictions;
  std::string source;  // where it was read from, for messages
};

nlohmann::json to_json(const TrainingProfile& profile);
TrainingProfile training_profile_from_json(const nlohmann::json& j, const std::string& where);
TrainingProfile read_training_profile(const std::filesystem::path& file);
void write_training_profile(const TrainingProfile& profile, const std::filesystem::path& file);

// The list of case features as `medseg plan` writes it ({"cases": [...]}), and its reader.
void write_case_features(const std::vector<CaseFeatures>& cases, const std::filesystem::path& file);
std::vector<CaseFeatures> read_case_features(const std::filesystem::path& file);

// The profile of a medseg model folder: training_profile.json plus every
// fold_<k>/validation/case_features.json present. nullopt when the folder has no
// training_profile.json (a model trained before medseg had one, or a reference nnU-Net model).
std::optional<TrainingProfile> load_model_profile(const std::filesystem::path& model_dir);

// Fewer training cases than this give no range worth checking against: the out-of-distribution
// check is then off for the model (and says so).
inline constexpr size_t kMinProfileCases = 5;

// Whether volumes are compared with the cross-validation predictions (when they cover at least
// half the training cases and kMinProfileCases; fewer when only some folds have finished)
// rather than with the training labels.
bool compare_with_validation_volumes(const TrainingProfile& profile);
// "cross-validation predictions" or "training labels".
std::string volume_reference_name(const TrainingProfile& profile);

// The normalisation schemes whose intensities keep their units (CT in Hounsfield units, or no
// normalisation): their raw percentiles are compared. The others (z-score, rescaling) make the
// network blind to scale and offset, so only the z-scored percentiles are.
bool normalization_keeps_units(const std::string& scheme);

}  // namespace medseg
