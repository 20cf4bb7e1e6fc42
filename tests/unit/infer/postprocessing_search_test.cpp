#include "medseg/infer/postprocessing_search.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Pair = std::pair<at::Tensor, at::Tensor>;

at::Tensor empty_map() { return torch::zeros({1, 8, 8}, torch::kUInt8); }

// Label 1 in rows 0-1 x cols 0-3 (8 voxels).
at::Tensor with_label_one(at::Tensor s) {
  s[0].slice(0, 0, 2).slice(1, 0, 4).fill_(1);
  return s;
}

PostprocessingSearch search_over(std::vector<Pair> cases, std::optional<int> ignore = std::nullopt) {
  auto shared = std::make_shared<std::vector<Pair>>(std::move(cases));
  PostprocessingSearch s;
  s.cases = shared->size();
  s.load = [shared](size_t i) { return (*shared)[i]; };
  s.classes = {{"1", {1}}, {"2", {2}}};
  s.foreground_values = {1, 2};
  s.ignore_label = ignore;
  return s;
}

TEST(DecidePostprocessing, KeepsTheForegroundStepWhenItHelpsAndNoClassGetsWorse) {
  // Label 2 touches label 1 (rows 2-3); the prediction adds a stray label-1 voxel.
  at::Tensor ref = with_label_one(empty_map());
  ref[0].slice(0, 2, 4).slice(1, 0, 4).fill_(2);
  at::Tensor pred = ref.clone();
  pred[0][7][7] = 1;
  const PostprocessingPlan plan = decide_postprocessing(search_over({{pred, ref}}));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_THAT(plan.steps[0].labels, ElementsAre(1, 2));
  // Dice of label 1: 2 * 8 / (9 + 8) before, 1 after; the per-class steps change nothing.
  EXPECT_NEAR(plan.details["before"]["mean_dice"]["1"].get<double>(), 16.0 / 17.0, 1e-12);
  EXPECT_NEAR(plan.details["after"]["mean_dice"]["1"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(plan.details["before"]["foreground_mean_dice"].get<double>(), (16.0 / 17.0 + 1) / 2, 1e-12);
  ASSERT_EQ(plan.details["decisions"].size(), 3u);
  EXPECT_EQ(plan.details["decisions"][0]["kept"], true);
  EXPECT_EQ(plan.details["decisions"][1]["kept"], false);
  EXPECT_EQ(plan.details["decisions"][2]["kept"], false);
}

TEST(DecidePostprocessing, RejectsTheForegroundStepThatLosesAClassAndKeepsAClassStep) {
  // Case 1: label 2 lies apart from label 1 and is smaller, so keeping the largest foreground
  // component would delete it; a stray label-1 voxel. Case 2: a perfect label 1 and no label 2
  // anywhere (label 2's Dice is NaN there and skipped).
  at::Tensor ref = with_label_one(empty_map());
  ref[0].slice(0, 5, 7).slice(1, 5, 8).fill_(2);
  at::Tensor pred = ref.clone();
  pred[0][7][0] = 1;
  const at::Tensor perfect = with_label_one(empty_map());
  const PostprocessingPlan plan = decide_postprocessing(search_over({{pred, ref}, {perfect, perfect}}));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_THAT(plan.steps[0].labels, ElementsAre(1));
  const auto& d = plan.details["decisions"];
  EXPECT_EQ(d[0]["kept"], false);
  EXPECT_NEAR(d[0]["after"]["mean_dice"]["2"].get<double>(), 0.0, 1e-12);
  EXPECT_EQ(d[1]["kept"], true);
  EXPECT_NEAR(d[1]["before"]["mean_dice"]["1"].get<double>(), (16.0 / 17.0 + 1) / 2, 1e-12);
  EXPECT_NEAR(d[1]["after"]["mean_dice"]["1"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(d[1]["after"]["mean_dice"]["2"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(d[2]["kept"], false);
}

TEST(DecidePostprocessing, IgnoredReferenceVoxelsAreNotScored) {
  // The stray voxel lies where the reference says "ignore" (3): nothing to improve.
  at::Tensor ref = with_label_one(empty_map());
  ref[0].slice(0, 2, 4).slice(1, 0, 4).fill_(2);
  ref[0][7][7] = 3;
  at::Tensor pred = with_label_one(empty_map());
  pred[0].slice(0, 2, 4).slice(1, 0, 4).fill_(2);
  pred[0][7][7] = 1;
  const PostprocessingPlan plan = decide_postprocessing(search_over({{pred, ref}}, 3));
  EXPECT_TRUE(plan.steps.empty());
  EXPECT_NEAR(plan.details["before"]["mean_dice"]["1"].get<double>(), 1.0, 1e-12);
}

TEST(ScoredClasses, KeysAsInSummaryJson) {
  const auto plain = scored_classes(testing::three_class_dataset());
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].key, "1");
  const auto regions = scored_classes(testing::region_dataset());
  EXPECT_EQ(regions[0].key, "(1, 2)");
  EXPECT_EQ(regions[1].key, "2");
}

void write_map(const at::Tensor& labels, const std::filesystem::path& path) {
  write_label_image(Image{labels, ImageGeometry::with_spacing({1, 1, 1})}, path);
}

TEST(DeterminePostprocessing, ReadsTheFoldsValidationAndWritesTheModelFoldersFile) {
  testing::TempDir dir;
  const auto model = dir / "models" / "3d_fullres";
  std::filesystem::create_directories(model / "fold_0" / "validation");
  std::filesystem::create_directories(model / "fold_1" / "validation");
  std::filesystem::create_directories(dir / "gt_segmentations");
  write_json(model / "dataset.json", testing::three_class_dataset().raw);
  at::Tensor ref = with_label_one(empty_map());
  ref[0].slice(0, 2, 4).slice(1, 0, 4).fill_(2);
  at::Tensor pred = ref.clone();
  pred[0][7][7] = 1;
  write_map(ref, dir / "gt_segmentations" / "a.nii.gz");
  write_map(ref, dir / "gt_segmentations" / "b.nii.gz");
  write_map(pred, model / "fold_0" / "validation" / "a.nii.gz");
  write_map(ref, model / "fold_1" / "validation" / "b.nii.gz");
  PostprocessingOptions o;
  o.model_dir = model;
  o.threads = 1;
  const PostprocessingPlan plan = determine_postprocessing(o);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_THAT(plan.steps[0].labels, ElementsAre(1, 2));
  const PostprocessingPlan written = read_postprocessing(model / "postprocessing.json");
  EXPECT_EQ(written.steps.size(), 1u);
  EXPECT_EQ(written.details["cases"], 2);
  EXPECT_EQ(written.details["folds"], nlohmann::json({0, 1}));

  std::filesystem::remove(dir / "gt_segmentations" / "b.nii.gz");
  try {
    determine_postprocessing(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("b.nii.gz: reference of case b not found"));
  }
  o.folds = {4};
  try {
    determine_postprocessing(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("fold 4 not found (no folder fold_4)"));
  }
}

}  // namespace
}  // namespace medseg
