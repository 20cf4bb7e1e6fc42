#include "medseg/qa/case_features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

DatasetInfo features_dataset() {
  return parse_dataset_json({{"channel_names", {{"0", "MRI"}}},
                             {"labels", {{"background", 0}, {"organ", 1}, {"lesion", 2}}},
                             {"numTraining", 1},
                             {"file_ending", ".nii.gz"}},
                            "dataset.json");
}

// (1, 4, 6, 8): zero outside the box z 1-2, y 1-4, x 2-6 (2 x 4 x 5 = 40 voxels) holding the
// values 1..40 in memory order.
at::Tensor features_volume() {
  at::Tensor data = torch::zeros({1, 4, 6, 8});
  data.index_put_(
      {0, torch::indexing::Slice(1, 3), torch::indexing::Slice(1, 5), torch::indexing::Slice(2, 7)},
      torch::arange(1, 41, torch::kFloat).reshape({2, 4, 5}));
  return data;
}

TEST(CaseFeatures, SpacingExtentAndPercentilesOfTheNonzeroRegion) {
  const CaseFeatures f = compute_case_features("c", features_volume(), {2.0, 1.0, 0.5},
                                               at::Tensor(), features_dataset());
  EXPECT_DOUBLE_EQ(f.at("spacing_z"), 2.0);
  EXPECT_DOUBLE_EQ(f.at("spacing_x"), 0.5);
  EXPECT_DOUBLE_EQ(f.at("extent_z"), 4.0);  // 2 slices of 2 mm
  EXPECT_DOUBLE_EQ(f.at("extent_y"), 4.0);
  EXPECT_DOUBLE_EQ(f.at("extent_x"), 2.5);
  // numpy.quantile(np.arange(1, 41), [0.01, 0.5, 0.99]) = 1.39, 20.5, 39.61
  EXPECT_NEAR(f.at("ch0_p01"), 1.39, 1e-5);
  EXPECT_NEAR(f.at("ch0_p50"), 20.5, 1e-5);
  EXPECT_NEAR(f.at("ch0_p99"), 39.61, 1e-4);
  // z-scored: (quantile - 20.5) / std(1..40) with std = sqrt((40^2 - 1) / 12) = 11.5434
  EXPECT_NEAR(f.at("ch0_z05"), (2.95 - 20.5) / 11.543396, 1e-5);
  EXPECT_NEAR(f.at("ch0_z95"), (38.05 - 20.5) / 11.543396, 1e-5);
  EXPECT_EQ(f.find("volume_organ"), nullptr);  // no label map, no volumes
}

TEST(CaseFeatures, ZScoredPercentilesIgnoreScaleAndOffsetRawOnesDoNot) {
  const at::Tensor data = features_volume();
  const at::Tensor rescaled = torch::where(data.ne(0), data * 3 + 50, data);
  const DatasetInfo ds = features_dataset();
  const CaseFeatures a = compute_case_features("a", data, {1, 1, 1}, at::Tensor(), ds);
  const CaseFeatures b = compute_case_features("b", rescaled, {1, 1, 1}, at::Tensor(), ds);
  for (const char* name : {"ch0_z05", "ch0_z25", "ch0_z75", "ch0_z95"})
    EXPECT_NEAR(a.at(name), b.at(name), 1e-5) << name;
  EXPECT_NEAR(b.at("ch0_p50"), 3 * a.at("ch0_p50") + 50, 1e-3);
}

TEST(CaseFeatures, VolumesInCubicMillimetresAndComponentsPerLabel) {
  at::Tensor labels = torch::zeros({4, 6, 8}, torch::kUInt8);
  labels.index_put_({1, torch::indexing::Slice(1, 3), torch::indexing::Slice(2, 5)},
                    1);             // 6 voxels
  labels.index_put_({2, 4, 6}, 1);  // apart: 2nd
  labels.index_put_({2, 1, 2}, 2);
  const CaseFeatures f =
      compute_case_features("c", features_volume(), {2.0, 1.0, 0.5}, labels, features_dataset());
  EXPECT_DOUBLE_EQ(f.at("volume_organ"), 7 * 1.0);  // 7 voxels of 2 x 1 x 0.5 mm^3
  EXPECT_DOUBLE_EQ(f.at("components_organ"), 2);
  EXPECT_DOUBLE_EQ(f.at("volume_lesion"), 1.0);
  EXPECT_DOUBLE_EQ(f.at("components_lesion"), 1);
}

TEST(CaseFeatures, RegionVolumesCountEveryValueOfTheRegion) {
  const DatasetInfo regions =
      parse_dataset_json({{"channel_names", {{"0", "T1"}}},
                          {"labels", {{"background", 0}, {"whole", {1, 2}}, {"core", 2}}},
                          {"regions_class_order", {1, 2}},
                          {"numTraining", 1},
                          {"file_ending", ".nii.gz"}},
                         "dataset.json");
  at::Tensor labels = torch::zeros({4, 6, 8}, torch::kUInt8);
  labels.index_put_({1, 1, torch::indexing::Slice(0, 3)}, 1);
  labels.index_put_({1, 2, torch::indexing::Slice(0, 2)}, 2);
  const CaseFeatures f = compute_case_features("c", features_volume(), {1, 1, 1}, labels, regions);
  EXPECT_DOUBLE_EQ(f.at("volume_whole"), 5);
  EXPECT_DOUBLE_EQ(f.at("volume_core"), 2);
}

TEST(CaseFeatures, TwoDimensionalImagesHaveInPlaneAxesOnly) {
  const at::Tensor data = features_volume()[0][1].unsqueeze(0);  // (1, 6, 8)
  const CaseFeatures f =
      compute_case_features("c", data, {1.0, 0.5}, at::Tensor(), features_dataset());
  EXPECT_EQ(f.find("spacing_z"), nullptr);
  EXPECT_DOUBLE_EQ(f.at("extent_y"), 4.0);
}

TEST(CaseFeatures, JsonRoundTripAndErrors) {
  const CaseFeatures f =
      compute_case_features("c7", features_volume(), {1, 1, 1}, at::Tensor(), features_dataset());
  const CaseFeatures back = case_features_from_json(to_json(f), "x.json");
  EXPECT_EQ(back.case_id, "c7");
  EXPECT_DOUBLE_EQ(back.at("ch0_p50"), f.at("ch0_p50"));
  EXPECT_THAT(testing::error_of([&] { back.at("nope"); }),
              HasSubstr("case c7: has no feature 'nope'"));
  EXPECT_THAT(testing::error_of([] {
                case_features_from_json({{"case", "a"}, {"features", {{"x", "y"}}}}, "f.json");
              }),
              HasSubstr("f.json: case a: feature 'x' is not a number"));
  EXPECT_THAT(testing::error_of([] {
                compute_case_features("c", torch::zeros({1, 4, 6, 8}), {1, 1, 1},
                                      torch::zeros({4, 6, 7}), features_dataset());
              }),
              HasSubstr("case c: the label map's shape differs"));
}

}  // namespace
}  // namespace medseg
