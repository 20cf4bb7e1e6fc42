#include "medseg/preprocess/class_locations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "medseg/io/dataset.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;

std::set<std::vector<int64_t>> as_set(const ClassLocations& c, int64_t dims) {
  std::set<std::vector<int64_t>> s;
  for (int64_t i = 0; i < c.count(dims); ++i)
    s.insert({c.coordinates.begin() + i * dims, c.coordinates.begin() + (i + 1) * dims});
  return s;
}

TEST(ClassLocationSampleSize, TenThousandButAtLeastOnePercent) {
  EXPECT_EQ(class_location_sample_size(0), 0);
  EXPECT_EQ(class_location_sample_size(50), 50);
  EXPECT_EQ(class_location_sample_size(10000), 10000);
  EXPECT_EQ(class_location_sample_size(20000), 10000);
  EXPECT_EQ(class_location_sample_size(1000001), 10001);  // ceil(10000.01)
  EXPECT_EQ(class_location_sample_size(2000000), 20000);
}

TEST(SampleClassLocations, SmallClassesKeepEveryVoxel) {
  at::Tensor seg = torch::zeros({4, 5, 6}, torch::kShort);
  seg[1][2][3] = 1;
  seg[3][4][5] = 1;
  seg[0][0][1] = 2;
  seg[2][2][2] = -1;
  const auto locs =
      sample_class_locations(seg, {{"a", {1}}, {"b", {2}}, {"both", {1, 2}}, {"none", {7}}});
  ASSERT_EQ(locs.size(), 4u);
  EXPECT_EQ(locs[0].name, "a");
  EXPECT_EQ(locs[0].voxels, 2);
  EXPECT_EQ(as_set(locs[0], 3), (std::set<std::vector<int64_t>>{{1, 2, 3}, {3, 4, 5}}));
  EXPECT_EQ(as_set(locs[1], 3), (std::set<std::vector<int64_t>>{{0, 0, 1}}));
  EXPECT_EQ(locs[2].voxels, 3);
  EXPECT_EQ(as_set(locs[2], 3), (std::set<std::vector<int64_t>>{{1, 2, 3}, {3, 4, 5}, {0, 0, 1}}));
  EXPECT_EQ(locs[3].voxels, 0);
  EXPECT_TRUE(locs[3].coordinates.empty());
  const at::Tensor a = class_location_tensor(locs[0], 3);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.scalar_type(), torch::kLong);
  EXPECT_EQ(class_location_tensor(locs[3], 3).sizes(), (std::vector<int64_t>{0, 3}));
}

TEST(SampleClassLocations, LargeClassesAreSubsampledWithoutReplacement) {
  at::Tensor seg = torch::ones({1, 200, 100}, torch::kShort);
  seg[0][0][0] = 0;
  const auto locs = sample_class_locations(seg, {{"a", {1}}});
  EXPECT_EQ(locs[0].voxels, 19999);
  EXPECT_EQ(locs[0].count(3), 10000);
  const auto unique = as_set(locs[0], 3);
  EXPECT_EQ(unique.size(), 10000u);
  EXPECT_EQ(unique.count({0, 0, 0}), 0u);
}

TEST(SampleClassLocations, SeededAndDeterministic) {
  torch::manual_seed(2);
  const at::Tensor seg = torch::randint(0, 3, {30, 30, 30}, torch::kShort);
  const auto a = sample_class_locations(seg, {{"a", {1}}, {"b", {2}}});
  const auto b = sample_class_locations(seg, {{"a", {1}}, {"b", {2}}});
  const auto c = sample_class_locations(seg, {{"a", {1}}, {"b", {2}}}, 99);
  EXPECT_EQ(a[0].coordinates, b[0].coordinates);
  EXPECT_EQ(a[1].coordinates, b[1].coordinates);
  EXPECT_NE(a[0].coordinates, c[0].coordinates);
  for (int64_t i = 0; i < a[1].count(3); ++i) {
    const auto* p = &a[1].coordinates[i * 3];
    EXPECT_EQ(seg[p[0]][p[1]][p[2]].item<int>(), 2);
  }
}

TEST(LocationClasses, ForegroundLabelsAndWithIgnoreAllOthers) {
  const DatasetInfo plain =
      parse_dataset_json({{"channel_names", {{"0", "CT"}}},
                          {"labels", {{"background", 0}, {"liver", 1}, {"tumour", 2}}},
                          {"numTraining", 1}},
                         "dataset.json");
  const auto classes = location_classes(plain);
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[0].name, "liver");
  EXPECT_THAT(classes[1].values, ElementsAre(2));

  const DatasetInfo ignore =
      parse_dataset_json({{"channel_names", {{"0", "CT"}}},
                          {"labels", {{"background", 0}, {"a", 1}, {"ignore", 3}}},
                          {"numTraining", 1}},
                         "dataset.json");
  const auto with_ignore = location_classes(ignore);
  ASSERT_EQ(with_ignore.size(), 2u);
  EXPECT_EQ(with_ignore[1].name, "all_labels");
  EXPECT_THAT(with_ignore[1].values, ElementsAre(0, 1));
}

TEST(LocationClasses, RegionsAreUnions) {
  const DatasetInfo regions =
      parse_dataset_json({{"channel_names", {{"0", "T1"}}},
                          {"labels", {{"background", 0}, {"whole", {1, 2}}, {"core", 2}}},
                          {"regions_class_order", {1, 2}},
                          {"numTraining", 1}},
                         "dataset.json");
  const auto classes = location_classes(regions);
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_THAT(classes[0].values, ElementsAre(1, 2));
  EXPECT_THAT(classes[1].values, ElementsAre(2));
}

}  // namespace
}  // namespace medseg
