#include "medseg/infer/predict_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<CaseFiles> cases_named(const std::vector<std::string>& ids) {
  std::vector<CaseFiles> cases;
  for (const auto& id : ids) cases.push_back({id, {fs::path(id + "_0000.nii.gz")}, {}});
  return cases;
}

std::vector<std::string> ids(const std::vector<CaseFiles>& cases) {
  std::vector<std::string> out;
  for (const auto& c : cases) out.push_back(c.id);
  return out;
}

TEST(SelectPart, CaseIGoesToPartIModuloN) {
  const auto cases = cases_named({"a", "b", "c", "d", "e"});
  EXPECT_THAT(ids(select_part(cases, 2, 0)), ElementsAre("a", "c", "e"));
  EXPECT_THAT(ids(select_part(cases, 2, 1)), ElementsAre("b", "d"));
  EXPECT_THAT(ids(select_part(cases, 1, 0)), ElementsAre("a", "b", "c", "d", "e"));
  // Every case in exactly one part, for any N.
  for (int n = 1; n <= 7; ++n) {
    std::multiset<std::string> seen;
    for (int k = 0; k < n; ++k)
      for (const auto& id : ids(select_part(cases, n, k))) seen.insert(id);
    EXPECT_EQ(seen, (std::multiset<std::string>{"a", "b", "c", "d", "e"})) << n << " parts";
  }
  try {
    select_part(cases, 3, 3);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--part-id: must be in [0, 2], not 3"));
  }
  EXPECT_THROW(select_part(cases, 0, 0), UsageError);
}

class Folder : public ::testing::Test {
 protected:
  void write_case(const std::string& id, int channels) {
    fs::create_directories(dir_ / "in");
    for (int c = 0; c < channels; ++c)
      write_image(testing::bordered_image(), dir_ / "in" / (id + "_000" + std::to_string(c) + ".nii.gz"));
  }
  testing::TempDir dir_;
};

TEST_F(Folder, FindsMultiChannelCasesInAFolderOrFromOneFile) {
  write_case("b", 2);
  write_case("a", 2);
  const DatasetInfo dataset = testing::three_class_dataset(2);
  const auto cases = prediction_cases(dir_ / "in", dataset);
  ASSERT_THAT(ids(cases), ElementsAre("a", "b"));
  EXPECT_EQ(cases[1].images[1], dir_ / "in" / "b_0001.nii.gz");
  const auto one = prediction_cases(dir_ / "in" / "b_0001.nii.gz", dataset);
  ASSERT_THAT(ids(one), ElementsAre("b"));
  EXPECT_EQ(one[0].images.size(), 2u);
  fs::remove(dir_ / "in" / "a_0001.nii.gz");
  try {
    prediction_cases(dir_ / "in", dataset);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("a_0001.nii.gz: missing channel file of case a"));
  }
  try {
    prediction_cases(dir_ / "in" / "a_0000.nii.gz", dataset);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("a_0001.nii.gz: missing channel file of case a"));
  }
}

TEST_F(Folder, SingleChannelFileWithoutSuffixIsOneCase) {
  fs::create_directories(dir_ / "in");
  write_image(testing::bordered_image(), dir_ / "in" / "scan.nii.gz");
  const auto cases = prediction_cases(dir_ / "in" / "scan.nii.gz", testing::three_class_dataset());
  EXPECT_THAT(ids(cases), ElementsAre("scan"));
  EXPECT_THROW(prediction_cases(dir_ / "in" / "scan.nii.gz", testing::three_class_dataset(2)), Error);
  EXPECT_THROW(prediction_cases(dir_ / "nothing", testing::three_class_dataset()), Error);
}

TEST_F(Folder, PredictsItsPartOfTheCases) {
  for (const std::string id : {"a", "b", "c"}) write_case(id, 1);
  const Plans plans = testing::infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  PredictionOptions no_mirroring;
  no_mirroring.mirroring = false;
  const Predictor p(plans, "3d_fullres", testing::three_class_dataset(),
                    std::vector<LogitsFunction>{testing::threshold_network()}, torch::kCPU, no_mirroring);
  PredictFolderOptions o;
  o.input = dir_ / "in";
  o.output_dir = dir_ / "out";
  o.num_parts = 2;
  o.part_id = 1;
  const PredictFolderResult r = predict_folder(p, o);
  EXPECT_EQ(r.cases, 1u);
  EXPECT_EQ(r.predicted, 1u);
  EXPECT_TRUE(fs::exists(dir_ / "out" / "b.nii.gz"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "a.nii.gz"));
  o.part_id = 0;
  o.skip_existing = true;
  fs::copy_file(dir_ / "out" / "b.nii.gz", dir_ / "out" / "a.nii.gz");
  const PredictFolderResult again = predict_folder(p, o);
  EXPECT_EQ(again.cases, 2u);
  EXPECT_EQ(again.predicted, 1u);  // a exists already
  EXPECT_TRUE(fs::exists(dir_ / "out" / "c.nii.gz"));
}

TEST_F(Folder, ContinuePredictsAgainAnOutputLeftEmptyOrTruncated) {
  // A full disk used to leave 0-byte predictions that --continue then skipped as done.
  for (const std::string id : {"a", "b", "c", "d"}) write_case(id, 1);
  const Plans plans = testing::infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  PredictionOptions no_mirroring;
  no_mirroring.mirroring = false;
  const Predictor p(plans, "3d_fullres", testing::three_class_dataset(),
                    std::vector<LogitsFunction>{testing::threshold_network()}, torch::kCPU,
                    no_mirroring);
  PredictFolderOptions o;
  o.input = dir_ / "in";
  o.output_dir = dir_ / "out";
  predict_folder(p, o);
  const fs::path a = dir_ / "out" / "a.nii.gz", b = dir_ / "out" / "b.nii.gz";
  const Image expected = read_image(a);
  const auto size = fs::file_size(a);
  fs::resize_file(a, 0);
  fs::resize_file(b, size / 2);
  fs::remove(dir_ / "out" / "c.nii.gz");
  o.skip_existing = true;
  const PredictFolderResult again = predict_folder(p, o);
  EXPECT_EQ(again.predicted, 3u);  // a, b and c; d is complete
  for (const fs::path& file : {a, b})
    EXPECT_TRUE(torch::equal(read_image(file).data, expected.data)) << file;
}

}  // namespace
}  // namespace medseg
