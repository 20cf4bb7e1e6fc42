#include "medseg/qa/qa_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "medseg/core/files.h"
#include "medseg/qa/drift.h"
#include "medseg/qa/uncertainty.h"
#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

DatasetInfo report_dataset() {
  return parse_dataset_json({{"channel_names", {{"0", "CT"}}},
                             {"labels", {{"background", 0}, {"liver", 1}, {"tumour", 2}}},
                             {"numTraining", 5},
                             {"file_ending", ".nii.gz"}},
                            "dataset.json");
}

CaseQa report_case(const std::string& id, bool flagged) {
  CaseQa c;
  c.case_id = id;
  c.output = id + ".nii.gz";
  c.ood_checked = true;
  c.features.case_id = id;
  c.features.set("spacing_z", 2.5);
  c.features.set(volume_feature("liver"), 1500.25);
  c.features.set(components_feature("liver"), 2);
  c.features.set(volume_feature("tumour"), 0);
  c.features.set(components_feature("tumour"), 0);
  if (flagged) {
    c.findings.push_back({"spacing_z", "spacing", 2.5, 0.7, 1.0, "spacing along z, \"far\" out"});
    c.findings.push_back({"volume_liver", "volume", 1500.25, 10, 20, "liver, too big"});
    c.picture = "qa/" + id + ".png";
  }
  UncertaintyScore u;
  u.foreground_voxels = 10;
  u.mean_entropy = 0.25;
  u.uncertain_fraction = 0.1;
  u.mean_mutual_information = 0.05;
  c.uncertainty = u;
  return c;
}

std::string report_file_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(QaReport, SummaryLineCountsFlaggedCasesByKind) {
  QaReport r;
  r.cases = {report_case("a", false), report_case("b", true), report_case("c", false)};
  EXPECT_EQ(qa_summary_line(r), "1 of 3 cases flagged out of distribution (spacing: 1, volume: 1)");
  r.cases = {report_case("a", false)};
  EXPECT_EQ(qa_summary_line(r), "none of 1 case flagged out of distribution");
  r.ood_note = "the model has no training_profile.json";
  EXPECT_EQ(qa_summary_line(r),
            "1 case, out-of-distribution check off: the model has no training_profile.json");
}

TEST(QaReport, CsvHasOneRowPerCaseAndLabelWithQuotedReasons) {
  QaReport r;
  r.cases = {report_case("a", false), report_case("b", true)};
  const std::string csv = qa_report_csv(r, report_dataset());
  EXPECT_THAT(csv, HasSubstr("case,label,volume_mm3,components,flagged,mean_entropy,"));
  EXPECT_THAT(csv, HasSubstr("\na,liver,1500.250,2,no,0.250000,0.100000,0.050000,,\n"));
  EXPECT_THAT(csv, HasSubstr("\na,tumour,0.000,0,no,"));
  EXPECT_THAT(csv, HasSubstr("b,liver,1500.250,2,yes,0.250000,0.100000,0.050000,qa/b.png,"
                             "\"spacing along z, \"\"far\"\" out; liver, too big\"\n"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // header + 2 cases x 2 labels
}

TEST(QaReport, WrittenReportReadsBackForContinue) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "medseg_qa_report_test";
  remove_tree(dir);
  QaReport r;
  r.model = "models/3d_fullres";
  r.cases = {report_case("a", false), report_case("b", true)};
  write_qa_report(r, report_dataset(), dir);
  const std::string json = report_file_text(dir / "report.json");
  EXPECT_THAT(json, HasSubstr("\"summary\": \"1 of 2 cases flagged"));
  EXPECT_THAT(json, HasSubstr("\"ood_check\": \"on\""));
  const std::vector<CaseQa> back = read_qa_report_cases(dir / "report.json");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].case_id, "b");
  EXPECT_TRUE(back[1].flagged());
  EXPECT_EQ(back[1].findings[1].reason, "liver, too big");
  EXPECT_EQ(back[1].picture, "qa/b.png");
  EXPECT_DOUBLE_EQ(back[0].features.at(volume_feature("liver")), 1500.25);
  ASSERT_TRUE(back[0].uncertainty.has_value());
  EXPECT_DOUBLE_EQ(back[0].uncertainty->mean_entropy, 0.25);
  EXPECT_TRUE(read_qa_report_cases(dir / "absent.json").empty());
  write_text_atomically(dir / "bad.json", "{\"cases\": [{\"case\": 3}]}");
  EXPECT_THAT(testing::error_of([&] { read_qa_report_cases(dir / "bad.json"); }),
              HasSubstr("bad.json: key 'case' has the wrong type"));
  remove_tree(dir);
}

TEST(Uncertainty, EntropyIsZeroForCertaintyAndOneForAUniformGuess) {
  // (batch 1, 3 classes, 2 voxels): one-hot, then uniform.
  const at::Tensor p =
      torch::tensor({1.0f, 1 / 3.0f, 0.0f, 1 / 3.0f, 0.0f, 1 / 3.0f}).reshape({1, 3, 2});
  const at::Tensor h = normalized_entropy(p, false);
  EXPECT_NEAR(h[0][0].item<float>(), 0, 1e-6);
  EXPECT_NEAR(h[0][1].item<float>(), 1, 1e-6);
  // Regions: the mean over regions of the binary entropy / log 2 (p = 0.5 -> 1, p = 1 -> 0).
  const at::Tensor r = torch::tensor({0.5f, 1.0f}).reshape({1, 2, 1});
  EXPECT_NEAR(normalized_entropy(r, true)[0][0].item<float>(), 0.5, 1e-6);
  // Two classes at 0.88 / 0.12: just above kUncertainEntropy (0.89 / 0.11 is just below).
  const at::Tensor two = torch::tensor({0.88f, 0.12f}).reshape({1, 2, 1});
  EXPECT_GT(normalized_entropy(two, false)[0][0].item<float>(), kUncertainEntropy);
}

TEST(Uncertainty, TheScoreSummarisesThePredictedForeground) {
  const at::Tensor labels = torch::tensor({0, 1, 1, 2}, torch::kUInt8);
  const at::Tensor entropy = torch::tensor({0.9f, 0.2f, 0.6f, 0.7f});
  const at::Tensor mi = torch::tensor({0.5f, 0.0f, 0.3f, 0.3f});
  const UncertaintyScore s = uncertainty_score(entropy, mi, labels);
  EXPECT_EQ(s.foreground_voxels, 3);
  EXPECT_NEAR(s.mean_entropy, 0.5, 1e-6);
  EXPECT_NEAR(s.uncertain_fraction, 2.0 / 3, 1e-6);
  EXPECT_NEAR(s.mean_mutual_information, 0.2, 1e-6);
  EXPECT_NEAR(s.image_mean_entropy, 0.6, 1e-6);
  const UncertaintyScore none = uncertainty_score(entropy, mi, torch::zeros({4}, torch::kUInt8));
  EXPECT_EQ(none.foreground_voxels, 0);
  EXPECT_EQ(none.mean_entropy, 0);
}

// Drift: a batch drawn like the training cases is stable, one with another spacing drifts.
TEST(Drift, AShiftedBatchDriftsAndAnUnchangedOneIsStable) {
  const DatasetInfo ds = report_dataset();
  TrainingProfile profile;
  profile.normalization_schemes = {"CTNormalization"};
  const auto make = [](const std::string& id, double spacing, double median) {
    CaseFeatures f;
    f.case_id = id;
    f.set("spacing_z", spacing);
    f.set("ch0_p50", median);
    return f;
  };
  for (int i = 0; i < 30; ++i)
    profile.cases.push_back(make("t" + std::to_string(i), 1.0 + 0.01 * i, 40 + i));
  DriftBatch same{"same", {}}, shifted{"shifted", {}};
  for (int i = 0; i < 12; ++i) {
    same.cases.push_back(make("s" + std::to_string(i), 1.005 + 0.025 * i, 41 + 2 * i));
    shifted.cases.push_back(make("d" + std::to_string(i), 3.0 + 0.01 * i, 41 + 2 * i));
  }
  const DriftReport r = compare_batches(profile, {same, shifted}, ds);
  EXPECT_EQ(r.verdicts, (std::vector<std::string>{"stable", "drift"}));
  EXPECT_EQ(r.flagged_cases, (std::vector<size_t>{0, 12}));
  const auto lines = drift_summary_lines(r);
  EXPECT_THAT(lines[1],
              HasSubstr("batch shifted: drift (spacing_z D=1.00); 12 of 12 cases flagged"));
  EXPECT_THAT(lines[0], HasSubstr("batch same: stable; 0 of 12"));
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "medseg_drift_test";
  remove_tree(dir);
  write_drift_report(r, dir);
  EXPECT_THAT(report_file_text(dir / "drift.json"), HasSubstr("\"verdict\": \"drift\""));
  EXPECT_THAT(report_file_text(dir / "drift.svg"), HasSubstr("<svg"));
  remove_tree(dir);
  EXPECT_THAT(testing::error_of([&] {
                compare_batches(profile, {DriftBatch{"empty", {}}}, ds);
              }),
              HasSubstr("empty: holds no case to compare"));
}

}  // namespace
}  // namespace medseg
