#include "medseg/qa/ood.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

DatasetInfo ood_dataset() {
  return parse_dataset_json({{"channel_names", {{"0", "T1"}}},
                             {"labels", {{"background", 0}, {"organ", 1}, {"lesion", 2}}},
                             {"numTraining", 10},
                             {"file_ending", ".nii.gz"}},
                            "dataset.json");
}

// Case i of a training distribution: spacing 1.0 + 0.01 i, z-scored 95th percentile 1.5 + 0.02 i,
// organ 1000 + 50 i mm^3, lesion in every case but the first.
CaseFeatures ood_case(int i) {
  CaseFeatures f;
  f.case_id = "case" + std::to_string(i);
  f.set("spacing_z", 1.0 + 0.01 * i);
  f.set("spacing_y", 0.8);
  f.set("spacing_x", 0.8);
  f.set("extent_z", 100 + i);
  f.set("extent_y", 200);
  f.set("extent_x", 200);
  f.set("ch0_p01", 10 + i);
  f.set("ch0_p50", 300 + i);
  f.set("ch0_p99", 900 + i);
  f.set("ch0_z05", -1.2);
  f.set("ch0_z25", -0.5);
  f.set("ch0_z75", 0.6);
  f.set("ch0_z95", 1.5 + 0.02 * i);
  f.set("volume_organ", 1000 + 50 * i);
  f.set("volume_lesion", i == 0 ? 0 : 20 + i);
  return f;
}

TrainingProfile ood_profile(const std::string& scheme = "ZScoreNormalization", int n = 10) {
  TrainingProfile p;
  p.normalization_schemes = {scheme};
  for (int i = 0; i < n; ++i) p.cases.push_back(ood_case(i));
  p.source = "training_profile.json";
  return p;
}

TEST(Ood, ACaseOfTheTrainingDistributionIsNotFlagged) {
  EXPECT_TRUE(check_out_of_distribution(ood_profile(), ood_case(4), ood_dataset()).empty());
  // Just outside the range but within the tolerance: spacing_z's training range is
  // [1.00, 1.09], its log width 0.086 below the floor log 1.1 = 0.095, and 3.2 / sqrt(10) of
  // that is 0.096.
  CaseFeatures near = ood_case(4);
  near.set("spacing_z", 1.10);
  EXPECT_TRUE(check_out_of_distribution(ood_profile(), near, ood_dataset()).empty());
}

TEST(Ood, AnotherSpacingIsFlaggedNamingFeatureValueAndRange) {
  CaseFeatures f = ood_case(4);
  f.set("spacing_z", 3.0);
  const auto findings = check_out_of_distribution(ood_profile(), f, ood_dataset());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, "spacing");
  EXPECT_EQ(findings[0].feature, "spacing_z");
  EXPECT_THAT(findings[0].reason,
              HasSubstr("spacing along z (mm) 3.00 is outside the range of the 10 training "
                        "cases [1.00, 1.09]"));
}

TEST(Ood, TheToleranceDecidesHowFarOutsideTheRangeIsTolerated) {
  // spacing_z range [1.00, 1.09] of 10 cases: log width max(log 1.09, log 1.1) = 0.0953; 1.2
  // lies log(1.2 / 1.09) = 0.096 above it: flagged with tolerance 1 (1 / sqrt(10) widths,
  // 0.030), not with 6 (0.181).
  CaseFeatures f = ood_case(4);
  f.set("spacing_z", 1.2);
  OodOptions strict, lenient;
  strict.tolerance = 1.0;
  lenient.tolerance = 6.0;
  EXPECT_EQ(check_out_of_distribution(ood_profile(), f, ood_dataset(), strict).size(), 1u);
  EXPECT_TRUE(check_out_of_distribution(ood_profile(), f, ood_dataset(), lenient).empty());
}

TEST(Ood, AnotherIntensityShapeIsFlaggedAsAnotherModality) {
  CaseFeatures f = ood_case(4);
  f.set("ch0_z95", 3.0);  // a long bright tail the training images never had
  const auto findings = check_out_of_distribution(ood_profile(), f, ood_dataset());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, "intensity shape");
  EXPECT_THAT(findings[0].reason, HasSubstr("channel 0 (T1) z-scored 95th percentile"));
}

TEST(Ood, RawIntensitiesAreCheckedOnlyForChannelsThatKeepTheirUnits) {
  CaseFeatures f = ood_case(4);
  f.set("ch0_p50", 5000);  // another scale
  EXPECT_TRUE(
      check_out_of_distribution(ood_profile("ZScoreNormalization"), f, ood_dataset()).empty());
  const auto ct = check_out_of_distribution(ood_profile("CTNormalization"), f, ood_dataset());
  ASSERT_EQ(ct.size(), 1u);
  EXPECT_EQ(ct[0].kind, "intensity");
  EXPECT_EQ(ct[0].feature, "ch0_p50");
}

TEST(Ood, AStructureEveryTrainingCaseHadIsMissing) {
  CaseFeatures f = ood_case(4);
  f.set("volume_organ", 0);
  f.set("volume_lesion", 0);  // the lesion is absent in a training case: no finding
  const auto findings = check_out_of_distribution(ood_profile(), f, ood_dataset());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, "missing structure");
  EXPECT_THAT(findings[0].reason,
              HasSubstr("no organ predicted, but all 10 training labels have it"));
}

TEST(Ood, AVolumeFarOutsideTheTrainingVolumesAndAnUnseenStructure) {
  CaseFeatures big = ood_case(4);
  big.set("volume_organ", 10000);
  const auto findings = check_out_of_distribution(ood_profile(), big, ood_dataset());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].kind, "volume");
  TrainingProfile no_lesion = ood_profile();
  for (auto& c : no_lesion.cases) c.set("volume_lesion", 0);
  const auto unseen = check_out_of_distribution(no_lesion, ood_case(4), ood_dataset());
  ASSERT_EQ(unseen.size(), 1u);
  EXPECT_EQ(unseen[0].kind, "unseen structure");
}

TEST(Ood, CrossValidationVolumesAreTheReferenceOnceTheyCoverHalfTheCases) {
  TrainingProfile p = ood_profile();
  CaseFeatures f = ood_case(4);
  f.set("volume_organ", 5000);  // far above the labels' 1000-1450
  EXPECT_EQ(check_out_of_distribution(p, f, ood_dataset()).size(), 1u);
  for (int i = 0; i < 4; ++i) {  // 4 of 10: too few, the labels stay the reference
    CaseFeatures v = ood_case(i);
    v.set("volume_organ", 4800 + 100 * i);
    p.validation_predictions.push_back(v);
  }
  EXPECT_EQ(volume_reference_name(p), "training labels");
  EXPECT_EQ(check_out_of_distribution(p, f, ood_dataset()).size(), 1u);
  CaseFeatures v = ood_case(5);
  v.set("volume_organ", 5100);
  p.validation_predictions.push_back(v);
  EXPECT_EQ(volume_reference_name(p), "cross-validation predictions");
  EXPECT_TRUE(check_out_of_distribution(p, f, ood_dataset()).empty());
}

TEST(Ood, FeaturesWithFewerThanFiveReferenceValuesAreNotRanged) {
  TrainingProfile p = ood_profile("ZScoreNormalization", 4);
  CaseFeatures f = ood_case(2);
  f.set("spacing_z", 9.0);
  EXPECT_TRUE(check_out_of_distribution(p, f, ood_dataset()).empty());
}

TEST(Ood, AProfileOfAnotherChannelCountIsAnError) {
  TrainingProfile p = ood_profile();
  p.normalization_schemes.push_back("ZScoreNormalization");
  EXPECT_THAT(
      testing::error_of([&] { check_out_of_distribution(p, ood_case(1), ood_dataset()); }),
      HasSubstr("training_profile.json: describes 2 channel(s), the model's dataset.json 1"));
}

}  // namespace
}  // namespace medseg
