#include "medseg/train/crossval.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "crossval_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;
using testing::TempDir;

// Cases a, b, c with the organ in rows 0, 1, 2; fold 0 validates a and b, fold 1 validates c.
// Model 2d: a and c right, b missed (organ probability 0.4). Model 3d_fullres: a missed, b and c
// right.
class CrossValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_splits_file(work(), {{{"c"}, {"a", "b"}}, {{"a", "b"}, {"c"}}});
    for (int row = 0; row < 3; ++row)
      testing::write_reference(work(), std::string(1, static_cast<char>('a' + row)),
                               testing::organ_in_row(row));
    m2d_ = testing::write_model_folder(work(), "2d");
    testing::write_validation_case(m2d_, 0, "a", 0, 0.9f);
    testing::write_validation_case(m2d_, 0, "b", 1, 0.4f);
    testing::write_validation_case(m2d_, 1, "c", 2, 0.9f);
    m3d_ = testing::write_model_folder(work(), "3d_fullres");
    testing::write_validation_case(m3d_, 0, "a", 0, 0.4f);
    testing::write_validation_case(m3d_, 0, "b", 1, 0.9f);
    testing::write_validation_case(m3d_, 1, "c", 2, 0.9f);
  }
  const fs::path& work() const { return tmp_.path(); }
  std::vector<FoldSplit> splits() const {
    return splits_from_json(read_json(work() / kSplitsFile), "splits");
  }

  TempDir tmp_;
  fs::path m2d_, m3d_;
};

double case_dice(const EvaluationSummary& s, size_t i) {
  return s.cases[i].metrics[0].dice;
}

TEST_F(CrossValidation, ScoresEveryFoldsValidationCasesTogether) {
  const fs::path out = m2d_ / "crossval_results_folds_0_1";
  fs::create_directories(out);
  write_json(out / "stale.json", nlohmann::json::object());
  CrossValidationOptions o;
  o.model_dirs = {m2d_};
  o.threads = 1;
  const CrossValidationResult r = score_crossval(o);
  EXPECT_THAT(r.folds, ElementsAre(0, 1));
  EXPECT_THAT(r.cases, ElementsAre("a", "b", "c"));
  EXPECT_EQ(r.output_dir, out);
  ASSERT_EQ(r.summary.cases.size(), 3u);
  EXPECT_DOUBLE_EQ(case_dice(r.summary, 0), 1.0);
  EXPECT_DOUBLE_EQ(case_dice(r.summary, 1), 0.0);  // nothing predicted where b's organ is
  EXPECT_DOUBLE_EQ(case_dice(r.summary, 2), 1.0);
  EXPECT_NEAR(r.summary.foreground_mean.at("Dice"), 2.0 / 3.0, 1e-12);
  for (const char* f :
       {"a.nii.gz", "b.nii.gz", "c.nii.gz", "summary.json", "summary.csv", "dataset.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_FALSE(fs::exists(out / "stale.json"));  // the folder is rebuilt
  EXPECT_NEAR(read_json(out / "summary.json")["foreground_mean"]["Dice"].get<double>(), 2.0 / 3.0,
              1e-12);
}

TEST_F(CrossValidation, OfSomeFoldsOnly) {
  CrossValidationOptions o;
  o.model_dirs = {m2d_};
  o.folds = {1};
  const CrossValidationResult r = score_crossval(o);
  EXPECT_THAT(r.cases, ElementsAre("c"));
  EXPECT_EQ(r.output_dir.filename(), "crossval_results_folds_1");
  o.folds = {4};
  EXPECT_EQ(error_of([&] { score_crossval(o); }),
            (work() / kSplitsFile).string() + ": has 2 folds (0 to 1); there is no fold 4");
}

TEST_F(CrossValidation, OfAnEnsembleAveragesTheModelsProbabilities) {
  CrossValidationOptions o;
  o.model_dirs = {m2d_, m3d_};
  const CrossValidationResult r = score_crossval(o);
  EXPECT_EQ(r.output_dir, work() / "ensembles" / "ensemble__2d__3d_fullres");
  // a: (0.9 + 0.4) / 2 = 0.65 and b: (0.4 + 0.9) / 2 organ probability: both found.
  EXPECT_DOUBLE_EQ(r.summary.foreground_mean.at("Dice"), 1.0);
  EXPECT_TRUE(
      read_image(r.output_dir / "b.nii.gz").data.to(torch::kUInt8).equal(testing::organ_in_row(1)));
}

TEST_F(CrossValidation, StatusNamesMissingFoldsAndCases) {
  fs::remove(m3d_ / "fold_0" / "validation" / "b.npy");
  const fs::path m = testing::write_model_folder(work(), "3d_lowres");
  testing::write_validation_case(m, 0, "a", 0, 0.9f);
  const CrossValidationStatus s = crossval_status(m, splits(), {0, 1}, ".nii.gz");
  EXPECT_FALSE(s.complete());
  EXPECT_EQ(s.problems(),
            "fold 0: 1 of 2 validation cases predicted (missing: b); fold 1: no fold_1 folder "
            "(fold not trained)");
  EXPECT_THAT(s.folds[0].missing, ElementsAre("b"));
  const CrossValidationStatus s3 = crossval_status(m3d_, splits(), {0, 1}, ".nii.gz");
  EXPECT_TRUE(s3.complete());
  EXPECT_FALSE(s3.has_probabilities());
  EXPECT_THAT(s3.folds[0].without_probabilities, ElementsAre("b"));

  CrossValidationOptions o;
  o.model_dirs = {m};
  EXPECT_EQ(error_of([&] { score_crossval(o); }),
            (m / "fold_0" / "validation").string() + ": fold 0 of " + m.string() +
                " is incomplete: 1 of 2 validation cases predicted (missing: b)");
  o.model_dirs = {m2d_, m3d_};
  EXPECT_EQ(error_of([&] { score_crossval(o); }),
            (m3d_ / "fold_0" / "validation").string() +
                ": no probabilities of case(s) b (an ensemble needs them: train with "
                "--save-probabilities)");
  // A fold folder without validation/ (trained with --no-final-validation).
  fs::create_directories(m / "fold_1");
  EXPECT_THAT(crossval_status(m, splits(), {1}, ".nii.gz").problems(),
              HasSubstr("fold 1: no validation predictions"));
}

TEST_F(CrossValidation, ACaseInTwoFoldsIsAnError) {
  testing::write_splits_file(work(), {{{"c"}, {"a", "b"}}, {{"b"}, {"a", "c"}}});
  testing::write_validation_case(m2d_, 1, "a", 0, 0.9f);
  CrossValidationOptions o;
  o.model_dirs = {m2d_};
  EXPECT_EQ(error_of([&] { score_crossval(o); }),
            (work() / kSplitsFile).string() + ": case a is a validation case of folds 0 and 1");
}

}  // namespace
}  // namespace medseg
