#include "medseg/eval/evaluator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using torch::indexing::Slice;

// Label maps of shape (4, 5, 6) at spacing (2, 1, 1): image diagonal sqrt(6^2 + 4^2 + 5^2).
const double kDiagonal = std::sqrt(77.0);

class EvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(ref_dir());
    fs::create_directories(pred_dir());
  }

  fs::path ref_dir() const { return dir_ / "ref"; }
  fs::path pred_dir() const { return dir_ / "pred"; }

  // Label 1: a 2x2x2 box; label 2 (optional): one voxel in the corner.
  static at::Tensor labels(bool with_two, std::vector<int64_t> shape = {4, 5, 6}) {
    at::Tensor t = torch::zeros(shape, torch::kByte);
    t.index_put_({Slice(1, 3), Slice(1, 3), Slice(1, 3)}, 1);
    if (with_two) t.index_put_({3, 4, 5}, 2);
    return t;
  }
  static ImageGeometry geometry() { return ImageGeometry::with_spacing({2.0, 1.0, 1.0}); }
  static void write(const fs::path& path, const at::Tensor& t, ImageGeometry g = geometry()) {
    write_label_image(Image{t, g}, path);
  }
  EvaluationOptions options() const {
    EvaluationOptions o;
    o.reference_dir = ref_dir();
    o.prediction_dir = pred_dir();
    o.labels = labels_from_values({1, 2});
    o.threads = 2;
    return o;
  }
  std::string error_of(const EvaluationOptions& o) const {
    try {
      evaluate_folders(o);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  testing::TempDir tmp_;
  const fs::path& dir_ = tmp_.path();
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, ',');) out.push_back(field);
  return out;
}

TEST_F(EvaluatorTest, PairsByCaseNameAndScoresAMissingPredictionAsEmpty) {
  write(ref_dir() / "a.nii.gz", labels(true));
  write(ref_dir() / "b.nii.gz", labels(false));
  write(ref_dir() / "c.nii.gz", labels(false));
  write(pred_dir() / "a.nii.gz", labels(true));
  write(pred_dir() / "b.nii.gz", labels(false));
  write(pred_dir() / "d.nii.gz", labels(true));  // no reference: ignored
  const EvaluationSummary s = evaluate_folders(options());

  ASSERT_EQ(s.cases.size(), 3u);
  EXPECT_EQ(s.cases[0].case_id, "a");
  EXPECT_EQ(s.cases[2].case_id, "c");
  EXPECT_FALSE(s.cases[1].prediction_missing);
  EXPECT_TRUE(s.cases[2].prediction_missing);
  EXPECT_EQ(s.cases[2].prediction_file, pred_dir() / "c.nii.gz");
  EXPECT_DOUBLE_EQ(s.cases[0].metrics[0].dice, 1.0);
  EXPECT_DOUBLE_EQ(s.cases[0].metrics[1].dice, 1.0);
  EXPECT_TRUE(std::isnan(s.cases[1].metrics[1].dice));  // label 2 in neither
  EXPECT_DOUBLE_EQ(s.cases[2].metrics[0].dice, 0.0);
  EXPECT_DOUBLE_EQ(s.cases[2].metrics[0].hd95, kDiagonal);
  EXPECT_EQ(s.cases[2].metrics[0].counts.fn, 8);
  EXPECT_DOUBLE_EQ(s.mean[0].at("Dice"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.mean[1].at("Dice"), 1.0);  // NaN cases skipped
  EXPECT_DOUBLE_EQ(s.mean[0].at("HD95"), kDiagonal / 3.0);
  EXPECT_DOUBLE_EQ(s.foreground_mean.at("Dice"), 5.0 / 6.0);
  EXPECT_EQ(s.summary_file, pred_dir() / "summary.json");
  EXPECT_EQ(s.csv_file, pred_dir() / "summary.csv");
}

TEST_F(EvaluatorTest, WritesSummaryJsonWithNullForNaN) {
  write(ref_dir() / "a.nii.gz", labels(true));
  write(ref_dir() / "b.nii.gz", labels(false));
  write(pred_dir() / "a.nii.gz", labels(true));
  write(pred_dir() / "b.nii.gz", labels(false));
  evaluate_folders(options());
  const nlohmann::json j = read_json(pred_dir() / "summary.json");
  ASSERT_EQ(j.at("metric_per_case").size(), 2u);
  const auto& b = j.at("metric_per_case")[1];
  EXPECT_EQ(b.at("reference_file"), (ref_dir() / "b.nii.gz").string());
  EXPECT_EQ(b.at("prediction_file"), (pred_dir() / "b.nii.gz").string());
  EXPECT_EQ(b.at("prediction_missing"), false);
  EXPECT_EQ(b.at("metrics").at("1").at("Dice"), 1.0);
  EXPECT_EQ(b.at("metrics").at("1").at("TP"), 8);
  EXPECT_EQ(b.at("metrics").at("1").at("volume_ref_mm3"), 16.0);
  EXPECT_TRUE(b.at("metrics").at("2").at("Dice").is_null());
  EXPECT_TRUE(b.at("metrics").at("2").at("HD95").is_null());
  EXPECT_EQ(j.at("mean").at("2").at("Dice"), 1.0);
  EXPECT_EQ(j.at("mean").at("1").at("NSD"), 1.0);
  EXPECT_EQ(j.at("foreground_mean").at("Dice"), 1.0);
  EXPECT_EQ(j.at("labels").at("2").at("nsd_tolerance_mm"), 1.0);
  EXPECT_EQ(j.at("num_cases"), 2);
  EXPECT_EQ(j.at("num_missing_predictions"), 0);
}

TEST_F(EvaluatorTest, WritesOneCsvRowPerCaseAndLabel) {
  write(ref_dir() / "a.nii.gz", labels(true));
  write(pred_dir() / "a.nii.gz", labels(false));
  EvaluationOptions o = options();
  o.summary_file = dir_ / "out" / "eval.json";
  evaluate_folders(o);
  ASSERT_TRUE(fs::exists(dir_ / "out" / "eval.json"));
  std::ifstream in(dir_ / "out" / "eval.csv");
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(split(line));
  ASSERT_EQ(rows.size(), 3u);
  const auto& header = rows[0];
  EXPECT_EQ(header[0], "case");
  EXPECT_EQ(header[4], "label");
  EXPECT_EQ(header[6], "Dice");
  EXPECT_EQ(header.size(), 6 + metric_names().size());
  auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  EXPECT_EQ(rows[1][column("label")], "1");
  EXPECT_EQ(rows[1][column("Dice")], "1");
  EXPECT_EQ(rows[2][column("label")], "2");
  EXPECT_EQ(rows[2][column("Dice")], "0");
  EXPECT_EQ(rows[2][column("FN")], "1");
  EXPECT_EQ(rows[2][column("rel_volume_diff")], "-1");
}

TEST_F(EvaluatorTest, LabelOnlyInPredictionScoresTheDiagonal) {
  write(ref_dir() / "a.nii.gz", labels(false));
  write(pred_dir() / "a.nii.gz", labels(true));
  const EvaluationSummary s = evaluate_folders(options());
  const LabelMetrics& two = s.cases[0].metrics[1];
  EXPECT_DOUBLE_EQ(two.dice, 0.0);
  EXPECT_DOUBLE_EQ(two.nsd, 0.0);
  EXPECT_DOUBLE_EQ(two.hd95, kDiagonal);
  EXPECT_EQ(two.counts.fp, 1);
  const nlohmann::json j = read_json(s.summary_file);
  EXPECT_TRUE(j.at("metric_per_case")[0].at("metrics").at("2").at("rel_volume_diff").is_null());
  EXPECT_EQ(j.at("metric_per_case")[0].at("metrics").at("2").at("abs_volume_diff_mm3"), 2.0);
}

TEST_F(EvaluatorTest, GeometryMismatchNamesBothFiles) {
  write(ref_dir() / "a.nii.gz", labels(true));
  ImageGeometry moved = geometry();
  moved.origin = {0.0, 5.0, 0.0};
  write(pred_dir() / "a.nii.gz", labels(true), moved);
  const std::string message = error_of(options());
  EXPECT_THAT(message, HasSubstr((pred_dir() / "a.nii.gz").string() +
                                 ": geometry differs from the reference " +
                                 (ref_dir() / "a.nii.gz").string()));
  EXPECT_THAT(message, HasSubstr("origin (0, 5, 0)"));
  EXPECT_FALSE(fs::exists(pred_dir() / "summary.json"));
}

TEST_F(EvaluatorTest, ShapeMismatchNamesBothFilesAndShapes) {
  write(ref_dir() / "a.nii.gz", labels(true));
  write(pred_dir() / "a.nii.gz", labels(false, {4, 5, 7}));
  EXPECT_THAT(error_of(options()),
              HasSubstr((pred_dir() / "a.nii.gz").string() +
                        ": shape (4, 5, 7) differs from the reference " +
                        (ref_dir() / "a.nii.gz").string() + " shape (4, 5, 6)"));
}

TEST_F(EvaluatorTest, UnreadableFileIsNamed) {
  write(ref_dir() / "a.nii.gz", labels(true));
  std::ofstream(pred_dir() / "a.nii.gz") << "not an image";
  EXPECT_THAT(error_of(options()), HasSubstr((pred_dir() / "a.nii.gz").string() + ": "));
  EXPECT_FALSE(fs::exists(pred_dir() / "summary.json"));
}

TEST_F(EvaluatorTest, FolderProblemsAreErrors) {
  EXPECT_THAT(error_of(options()),
              HasSubstr(ref_dir().string() + ": no reference files ending in .nii.gz"));
  EvaluationOptions o = options();
  o.reference_dir = dir_ / "nowhere";
  EXPECT_THAT(error_of(o), HasSubstr((dir_ / "nowhere").string() + ": reference folder not found"));
  o = options();
  o.prediction_dir = dir_ / "nowhere";
  EXPECT_THAT(error_of(o),
              HasSubstr((dir_ / "nowhere").string() + ": prediction folder not found"));
}

TEST_F(EvaluatorTest, RegionsFromDatasetJson) {
  DatasetInfo info;
  info.labels = {{"background", {0}}, {"whole", {1, 2}}, {"core", {2}}};
  info.has_regions = true;
  const std::vector<EvaluatedLabel> regions = labels_from_dataset(info);
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].key, "(1, 2)");
  EXPECT_EQ(regions[0].name, "whole");
  EXPECT_EQ(regions[1].key, "2");

  write(ref_dir() / "a.nii.gz", labels(true));
  write(pred_dir() / "a.nii.gz", labels(true).clamp_max(1));  // label 2 predicted as 1
  EvaluationOptions o = options();
  o.labels = regions;
  const EvaluationSummary s = evaluate_folders(o);
  EXPECT_EQ(s.cases[0].metrics[0].counts.tp, 9);  // "whole" holds both labels: all found
  EXPECT_DOUBLE_EQ(s.cases[0].metrics[0].dice, 1.0);
  EXPECT_EQ(s.cases[0].metrics[1].counts.fn, 1);  // "core" (label 2) was missed
  EXPECT_DOUBLE_EQ(s.cases[0].metrics[1].dice, 0.0);
  EXPECT_TRUE(read_json(s.summary_file).at("mean").contains("(1, 2)"));
}

TEST_F(EvaluatorTest, NsdTolerancePerLabelByKeyOrName) {
  write(ref_dir() / "a.nii.gz", labels(true));
  write(pred_dir() / "a.nii.gz", labels(true));
  EvaluationOptions o = options();
  o.labels[1].name = "lesion";
  o.nsd_tolerance_mm = 1.5;
  o.nsd_tolerance_per_label = {{"lesion", 2.0}};
  const EvaluationSummary s = evaluate_folders(o);
  EXPECT_DOUBLE_EQ(s.labels[0].nsd_tolerance_mm, 1.5);
  EXPECT_DOUBLE_EQ(s.labels[1].nsd_tolerance_mm, 2.0);
  EXPECT_DOUBLE_EQ(s.cases[0].metrics[1].nsd_tolerance_mm, 2.0);
  o.nsd_tolerance_per_label = {{"7", 2.0}};
  EXPECT_THAT(
      error_of(o),
      HasSubstr("NSD tolerance given for '7', which is not an evaluated label (labels: 1, 2)"));
  o.nsd_tolerance_per_label = {{"1", -1.0}};
  EXPECT_THAT(error_of(o), HasSubstr("NSD tolerance of label 1 must be >= 0"));
}

// 2D label maps: the 3x3 squares' centre pixels are interior (no z neighbours), so each
// surface has 8 pixels. Shifted by one along x: per direction four 0 mm and four 1 mm.
TEST_F(EvaluatorTest, TwoDimensionalImages) {
  at::Tensor ref = torch::zeros({6, 6}, torch::kByte), pred = torch::zeros({6, 6}, torch::kByte);
  ref.index_put_({Slice(1, 4), Slice(1, 4)}, 1);
  pred.index_put_({Slice(1, 4), Slice(2, 5)}, 1);
  write(ref_dir() / "a.nii.gz", ref, ImageGeometry::with_spacing({1.0, 1.0}));
  write(pred_dir() / "a.nii.gz", pred, ImageGeometry::with_spacing({1.0, 1.0}));
  EvaluationOptions o = options();
  o.labels = labels_from_values({1});
  o.nsd_tolerance_mm = 0.5;
  const LabelMetrics m = evaluate_folders(o).cases[0].metrics[0];
  EXPECT_DOUBLE_EQ(m.dice, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.assd, 0.5);
  EXPECT_DOUBLE_EQ(m.hd95, 1.0);
  EXPECT_DOUBLE_EQ(m.nsd, 0.5);
  EXPECT_DOUBLE_EQ(m.volume_ref_mm3, 9.0);
}

// A predicted value in neither the reference nor the evaluated labels is scored as nothing:
// the evaluation says so.
TEST_F(EvaluatorTest, WarnsAboutPredictedValuesOutsideTheReferenceAndLabels) {
  write(ref_dir() / "a.nii.gz", labels(true));
  at::Tensor predicted = labels(true);
  predicted.index_put_({0, 0, 0}, 9);
  write(pred_dir() / "a.nii.gz", predicted);
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  log().sinks().push_back(sink);
  EvaluationOptions o = options();
  o.labels = labels_from_values({1});  // 2 is in the reference: not warned about
  evaluate_folders(o);
  log().sinks().pop_back();
  EXPECT_THAT(captured.str(), HasSubstr("label value(s) 9 are in neither the reference nor the "
                                        "evaluated labels: not scored"));
  EXPECT_THAT(captured.str(), ::testing::Not(HasSubstr("value(s) 2")));
}

TEST_F(EvaluatorTest, IgnoreLabelLeavesUnannotatedVoxelsOutOfEveryMetric) {
  // A sparsely annotated case: only slices z = 0 and 1 are annotated, the rest of the reference
  // is the ignore label 9. The prediction is the full 2x2x2 box (z 1-2) plus a false positive
  // at z = 3, both partly in unannotated slices.
  at::Tensor ref = labels(false);
  ref.index_put_({Slice(2, 4)}, 9);
  at::Tensor pred = labels(false);
  pred.index_put_({3, 0, 0}, 1);
  write(ref_dir() / "a.nii.gz", ref);
  write(pred_dir() / "a.nii.gz", pred);
  EvaluationOptions o = options();
  o.labels = labels_from_values({1});
  const EvaluationSummary plain = evaluate_folders(o);
  // Without the ignore label, the box's z = 2 half and the z = 3 voxel are false positives.
  EXPECT_EQ(plain.cases[0].metrics[0].counts.fp, 5);
  o.ignore_label = 9;
  const EvaluationSummary s = evaluate_folders(o);
  const LabelMetrics& m = s.cases[0].metrics[0];
  EXPECT_EQ(m.counts.tp, 4);  // the box's z = 1 slice
  EXPECT_EQ(m.counts.fp, 0);
  EXPECT_EQ(m.counts.fn, 0);
  EXPECT_EQ(m.counts.tn, 2 * 5 * 6 - 4);  // annotated voxels only
  EXPECT_DOUBLE_EQ(m.dice, 1.0);
  EXPECT_DOUBLE_EQ(m.hd95, 0.0);
  EXPECT_DOUBLE_EQ(m.volume_pred_mm3, 4 * 2.0);
  // The ignore label cannot be an evaluated label.
  o.labels = labels_from_values({1, 9});
  EXPECT_THAT(error_of(o), HasSubstr("label 9 contains the ignore label 9"));
}

}  // namespace
}  // namespace medseg
