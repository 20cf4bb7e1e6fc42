#include "medseg/train/preprocessed_case_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/preprocess/case_preprocessor.h"
#include "medseg/preprocess/case_storage.h"
#include "medseg/preprocess/npy.h"
#include "medseg/train/final_validation.h"
#include "support/dataset_builder.h"
#include "support/error_of.h"
#include "support/plans_builder.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DatasetInfo dataset(const nlohmann::json& labels) {
  nlohmann::json j = testing::dataset_json(1, {"MRI"}, labels);
  if (labels.contains("whole")) j["regions_class_order"] = {1, 2};
  return parse_dataset_json(j, "dataset.json");
}

// The 8^3 test case (label 1 in a 4^3 cube, label 2 in one corner voxel), preprocessed for
// `info` and written to `dir` as case "c0".
void store_case(const std::filesystem::path& dir, const DatasetInfo& info) {
  const Plans plans = testing::minimal_plans({1.0, 1.0, 1.0});
  const Image image = testing::test_image(), label = testing::test_label();
  CasePreprocessOptions options{"c0", location_classes(info), 1};
  write_preprocessed_case(
      dir, "c0",
      preprocess_case({image}, &label, plans, plans.configuration("3d_fullres"), options));
}

using testing::error_of;

TEST(PreprocessedCaseSource, ServesStoredCasesWithTheirClassLocations) {
  testing::TempDir dir;
  const DatasetInfo info = dataset({{"background", 0}, {"a", 1}, {"b", 2}});
  store_case(dir.path(), info);
  PreprocessedCaseSource source(dir.path(), {"c0"}, info);
  ASSERT_EQ(source.size(), 1u);
  const auto c = source.get(0);
  EXPECT_EQ(c->id, "c0");
  EXPECT_EQ(c->data.sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
  EXPECT_EQ(c->seg.scalar_type(), torch::kShort);
  ASSERT_EQ(c->class_locations.size(), 2u);
  EXPECT_EQ(c->class_locations.at(1).size(0), 64);  // every voxel of the 4^3 cube
  EXPECT_EQ(c->class_locations.at(2).sizes(), (std::vector<int64_t>{1, 3}));
  EXPECT_THAT(std::vector<int64_t>(c->class_locations.at(2).data_ptr<int64_t>(),
                                   c->class_locations.at(2).data_ptr<int64_t>() + 3),
              ElementsAre(7, 7, 7));
  EXPECT_FALSE(c->annotated_locations.defined());
  EXPECT_EQ(source.get(0).get(), c.get());  // cached: read once
}

TEST(PreprocessedCaseSource, IgnoreLabelDatasetsGetAnnotatedLocations) {
  testing::TempDir dir;
  const DatasetInfo info = dataset({{"background", 0}, {"a", 1}, {"ignore", 2}});
  store_case(dir.path(), info);
  const auto c = PreprocessedCaseSource(dir.path(), {"c0"}, info).get(0);
  ASSERT_EQ(c->class_locations.size(), 1u);
  EXPECT_EQ(c->class_locations.count(1), 1u);
  ASSERT_TRUE(c->annotated_locations.defined());
  // Every voxel but the ignored corner, subsampled to the reference's count: 511 voxels ->
  // min(10000, 511) = 511.
  EXPECT_EQ(c->annotated_locations.size(0), 511);
}

TEST(PreprocessedCaseSource, RegionsAreKeyedByTheirIndex) {
  testing::TempDir dir;
  const DatasetInfo info = dataset({{"background", 0}, {"whole", {1, 2}}, {"b", 2}});
  store_case(dir.path(), info);
  const auto c = PreprocessedCaseSource(dir.path(), {"c0"}, info).get(0);
  ASSERT_EQ(c->class_locations.size(), 2u);
  EXPECT_EQ(c->class_locations.at(0).size(0), 65);  // cube + corner
  EXPECT_EQ(c->class_locations.at(1).size(0), 1);
}

TEST(PreprocessedCaseSource, ReportsMissingCasesAndMismatchedClasses) {
  testing::TempDir dir;
  const DatasetInfo info = dataset({{"background", 0}, {"a", 1}, {"b", 2}});
  store_case(dir.path(), info);
  EXPECT_THAT(error_of([&] {
                PreprocessedCaseSource(dir.path(), {"c0", "c1", "c2"}, info);
              }),
              HasSubstr("2 case(s) are not preprocessed (c1, c2); run medseg preprocess"));
  const DatasetInfo other = dataset({{"background", 0}, {"a", 1}});
  EXPECT_THAT(error_of([&] { PreprocessedCaseSource(dir.path(), {"c0"}, other).get(0); }),
              HasSubstr("case c0: stores locations of 2 classes, the dataset has 1"));
  EXPECT_THAT(error_of([&] { PreprocessedCaseSource(dir.path(), {"c0"}, info).get(3); }),
              HasSubstr("case index 3 out of range (1 cases)"));
}

TEST(PreprocessedCaseSource, LabelValuesOutsideDatasetJsonNameTheFile) {
  testing::TempDir dir;
  const DatasetInfo info = dataset({{"background", 0}, {"a", 1}, {"b", 2}});
  store_case(dir.path(), info);
  const auto seg_file = preprocessed_case_files(dir.path(), "c0").segmentation;
  at::Tensor seg = read_npy(seg_file);
  seg.view(-1)[0] = 5;
  write_npy(seg_file, seg);
  EXPECT_THAT(error_of([&] { PreprocessedCaseSource(dir.path(), {"c0"}, info).get(0); }),
              HasSubstr(seg_file.string() + ": holds label value(s) 5 that dataset.json does "
                                            "not declare (declared: 0, 1, 2, -1)"));
}

TEST(PreprocessedCaseSource, CascadeCasesCarryThePreviousStageOfTheirShape) {
  testing::TempDir dir;
  const DatasetInfo info = dataset({{"background", 0}, {"a", 1}, {"b", 2}});
  store_case(dir.path(), info);
  const auto previous = dir.path() / "previous";
  std::filesystem::create_directories(previous);
  const at::Tensor seg = read_preprocessed_case(dir.path(), "c0").segmentation;
  write_npy(next_stage_file(previous, "c0"), seg.clamp_min(0));
  const auto c = PreprocessedCaseSource(dir.path(), {"c0"}, info, previous).get(0);
  ASSERT_TRUE(c->previous_stage.defined());
  EXPECT_TRUE(torch::equal(c->previous_stage, seg.clamp_min(0)));
  write_npy(next_stage_file(previous, "c0"), seg.narrow(1, 0, 2).contiguous());
  EXPECT_THAT(error_of([&] { PreprocessedCaseSource(dir.path(), {"c0"}, info, previous).get(0); }),
              HasSubstr("c0.npy: the previous stage's segmentation has shape"));
}

}  // namespace
}  // namespace medseg
