#include "medseg/io/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "support/dataset_builder.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using nlohmann::json;

std::string parse_error(const json& j) {
  try {
    parse_dataset_json(j, "dataset.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DatasetJson, ParsesV2Layout) {
  const DatasetInfo info = parse_dataset_json(testing::dataset_json(5, {"CT", "T2"}), "dataset.json");
  EXPECT_THAT(info.channel_names, ElementsAre("CT", "T2"));
  ASSERT_EQ(info.labels.size(), 3u);
  EXPECT_EQ(info.labels[0].name, "background");
  EXPECT_EQ(info.labels[2].name, "b");
  EXPECT_EQ(info.num_training, 5);
  EXPECT_EQ(info.file_ending, ".nii.gz");
  EXPECT_FALSE(info.has_regions);
  EXPECT_EQ(info.num_outputs(), 3);
  EXPECT_THAT(info.allowed_label_values(), ElementsAre(0, 1, 2));
}

TEST(DatasetJson, ParsesOlderMsdKeys) {
  const json j = {{"modality", {{"0", "FLAIR"}, {"1", "T1w"}}},
                  {"labels", {{"0", "background"}, {"1", "edema"}, {"2", "tumour"}}},
                  {"numTraining", 3}};
  const DatasetInfo info = parse_dataset_json(j, "dataset.json");
  EXPECT_THAT(info.channel_names, ElementsAre("FLAIR", "T1w"));
  ASSERT_EQ(info.labels.size(), 3u);
  EXPECT_EQ(info.labels[1].name, "edema");
  EXPECT_THAT(info.labels[2].values, ElementsAre(2));
}

TEST(DatasetJson, ParsesRegionsAndIgnoreLabel) {
  json j = testing::dataset_json(2, {"T1"}, {{"background", 0}, {"whole", {1, 2, 3}}, {"core", {2, 3}}, {"enhancing", 3}});
  j["regions_class_order"] = {1, 2, 3};
  const DatasetInfo info = parse_dataset_json(j, "dataset.json");
  EXPECT_TRUE(info.has_regions);
  EXPECT_EQ(info.num_outputs(), 3);
  EXPECT_THAT(info.regions_class_order, ElementsAre(1, 2, 3));

  const DatasetInfo with_ignore =
      parse_dataset_json(testing::dataset_json(2, {"CT"}, {{"background", 0}, {"organ", 1}, {"ignore", 2}}), "d");
  ASSERT_TRUE(with_ignore.ignore_label.has_value());
  EXPECT_EQ(*with_ignore.ignore_label, 2);
  EXPECT_EQ(with_ignore.num_outputs(), 2);
}

TEST(DatasetJson, RejectsWhatUsersGetWrong) {
  json j = testing::dataset_json(1);
  j.erase("channel_names");
  EXPECT_THAT(parse_error(j), HasSubstr("missing \"channel_names\""));
  j = testing::dataset_json(1);
  j.erase("labels");
  EXPECT_THAT(parse_error(j), HasSubstr("missing \"labels\""));
  j = testing::dataset_json(1);
  j.erase("numTraining");
  EXPECT_THAT(parse_error(j), HasSubstr("numTraining"));
  EXPECT_THAT(parse_error(testing::dataset_json(1, {"CT"}, {{"organ", 1}})), HasSubstr("\"background\": 0"));
  EXPECT_THAT(parse_error(testing::dataset_json(1, {"CT"}, {{"background", 0}, {"a", 1}, {"b", 3}})),
              HasSubstr("consecutive from 0; 2 is missing"));
  EXPECT_THAT(parse_error(testing::dataset_json(1, {"CT"}, {{"background", 0}, {"a", "x"}})), HasSubstr("not an integer"));
  j = testing::dataset_json(1, {"T1"}, {{"background", 0}, {"whole", {1, 2}}});
  EXPECT_THAT(parse_error(j), HasSubstr("regions_class_order"));
  j = testing::dataset_json(1);
  j["channel_names"] = {{"0", "CT"}, {"2", "MR"}};
  EXPECT_THAT(parse_error(j), HasSubstr("channel 1 is missing"));
  j = testing::dataset_json(1);
  j["file_ending"] = "nii.gz";
  EXPECT_THAT(parse_error(j), HasSubstr("must start with a dot"));
  EXPECT_THAT(parse_error(json::array()), HasSubstr("must contain a JSON object"));
}

TEST(DatasetJson, ChannelFileNames) {
  auto split = split_channel_file_name("liver_001_0002.nii.gz", ".nii.gz");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->first, "liver_001");
  EXPECT_EQ(split->second, 2);
  EXPECT_FALSE(split_channel_file_name("liver_001.nii.gz", ".nii.gz").has_value());
  EXPECT_FALSE(split_channel_file_name("liver_001_0000.nrrd", ".nii.gz").has_value());
}

TEST(CaseDiscovery, PairsImagesAndLabelsAndReportsEveryProblem) {
  testing::TempDir dir;
  const DatasetInfo info = parse_dataset_json(testing::dataset_json(3, {"T1", "T2"}), "dataset.json");
  testing::write_test_case(dir.path(), "good", 2);
  testing::write_test_case(dir.path(), "one_channel", 2);
  fs::remove(dir / "imagesTr/one_channel_0001.nii.gz");
  testing::write_test_case(dir.path(), "no_label", 2);
  fs::remove(dir / "labelsTr/no_label.nii.gz");
  fs::copy_file(dir / "labelsTr/good.nii.gz", dir / "labelsTr/orphan.nii.gz");
  fs::copy_file(dir / "imagesTr/good_0000.nii.gz", dir / "imagesTr/good_0005.nii.gz");
  fs::copy_file(dir / "imagesTr/good_0000.nii.gz", dir / "imagesTr/stray.nii.gz");

  const CaseDiscovery found = discover_cases(dir / "imagesTr", dir / "labelsTr", info);
  ASSERT_EQ(found.cases.size(), 1u);
  EXPECT_EQ(found.cases[0].id, "good");
  EXPECT_EQ(found.cases[0].images.size(), 2u);
  EXPECT_EQ(found.cases[0].label, dir / "labelsTr/good.nii.gz");
  std::string all;
  for (const auto& p : found.problems) all += p + "\n";
  EXPECT_EQ(found.problems.size(), 5u) << all;
  EXPECT_THAT(all, HasSubstr("one_channel_0001.nii.gz: missing channel file of case one_channel"));
  EXPECT_THAT(all, HasSubstr("no_label.nii.gz: missing label file of case no_label"));
  EXPECT_THAT(all, HasSubstr("orphan.nii.gz: label without images"));
  EXPECT_THAT(all, HasSubstr("good_0005.nii.gz: channel 5 but dataset.json declares 2"));
  EXPECT_THAT(all, HasSubstr("stray.nii.gz: not named <case>_XXXX.nii.gz"));
  EXPECT_THROW(training_cases(dir.path(), info), Error);
}

}  // namespace
}  // namespace medseg
