#include "medseg/qa/training_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/files.h"
#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

CaseFeatures profile_case(const std::string& id, double volume) {
  CaseFeatures f;
  f.case_id = id;
  f.set("spacing_z", 1.5);
  f.set("volume_organ", volume);
  return f;
}

TEST(TrainingProfile, ModelFolderProfileGathersTheFoldsValidationVolumes) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "medseg_profile_test";
  remove_tree(dir);
  EXPECT_FALSE(load_model_profile(dir).has_value());  // no profile: none, not an error
  TrainingProfile p;
  p.normalization_schemes = {"ZScoreNormalization"};
  p.cases = {profile_case("a", 10), profile_case("b", 12)};
  write_training_profile(p, dir / kTrainingProfileFile);
  write_case_features({profile_case("a", 11)}, dir / "fold_0/validation" / kValidationFeaturesFile);
  write_case_features({profile_case("b", 13)}, dir / "fold_3/validation" / kValidationFeaturesFile);
  std::filesystem::create_directories(dir / "fold_1");  // unfinished: no validation yet
  const auto loaded = load_model_profile(dir);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->normalization_schemes, p.normalization_schemes);
  ASSERT_EQ(loaded->cases.size(), 2u);
  EXPECT_DOUBLE_EQ(loaded->cases[1].at("volume_organ"), 12);
  ASSERT_EQ(loaded->validation_predictions.size(), 2u);
  EXPECT_EQ(loaded->validation_predictions[1].case_id, "b");
  write_text_atomically(dir / kTrainingProfileFile, "{\"version\": 7, \"cases\": []}");
  EXPECT_THAT(testing::error_of([&] { load_model_profile(dir); }),
              HasSubstr("training_profile.json: key 'version' must be 1"));
  remove_tree(dir);
}

TEST(TrainingProfile, UnitsKeepingNormalisations) {
  EXPECT_TRUE(normalization_keeps_units("CTNormalization"));
  EXPECT_TRUE(normalization_keeps_units("NoNormalization"));
  EXPECT_FALSE(normalization_keeps_units("ZScoreNormalization"));
  EXPECT_FALSE(normalization_keeps_units("RescaleTo01Normalization"));
}

}  // namespace
}  // namespace medseg
