#include "medseg/train/kfold_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("case_" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  return out;
}

using testing::error_of;

// Expected values from the reference's own code path, numpy 1.24:
//   KFold(5, shuffle=True, random_state=12345).split(np.arange(12)) -> test indices.
TEST(KFoldSplit, MatchesTheReferencesSklearnSplit) {
  const std::vector<FoldSplit> splits = make_kfold_splits(ids(12));
  ASSERT_EQ(splits.size(), 5u);
  EXPECT_THAT(splits[0].val, ElementsAre("case_00", "case_03", "case_08"));
  EXPECT_THAT(splits[1].val, ElementsAre("case_07", "case_10", "case_11"));
  EXPECT_THAT(splits[2].val, ElementsAre("case_06", "case_09"));
  EXPECT_THAT(splits[3].val, ElementsAre("case_01", "case_04"));
  EXPECT_THAT(splits[4].val, ElementsAre("case_02", "case_05"));
  EXPECT_THAT(splits[2].train, ElementsAre("case_00", "case_01", "case_02", "case_03", "case_04",
                                           "case_05", "case_07", "case_08", "case_10", "case_11"));
}

// numpy: np.random.RandomState(12345).shuffle(arange(260)) -> KFold's first test indices.
TEST(KFoldSplit, MatchesTheReferenceOnALargerDataset) {
  std::vector<std::string> names;
  for (int i = 0; i < 260; ++i) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "c%03d", i);
    names.push_back(buffer);
  }
  const std::vector<FoldSplit> splits = make_kfold_splits(names);
  ASSERT_EQ(splits[0].val.size(), 52u);
  EXPECT_THAT(std::vector<std::string>(splits[0].val.begin(), splits[0].val.begin() + 8),
              ElementsAre("c009", "c010", "c016", "c018", "c020", "c030", "c033", "c040"));
  EXPECT_THAT(std::vector<std::string>(splits[4].val.begin(), splits[4].val.begin() + 8),
              ElementsAre("c005", "c007", "c011", "c023", "c029", "c031", "c034", "c036"));
}

TEST(KFoldSplit, FoldsAreDisjointCoverEveryCaseAndIgnoreInputOrder) {
  std::vector<std::string> names = ids(23);
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  const auto splits = make_kfold_splits(names);
  EXPECT_EQ(splits_to_json(make_kfold_splits(reversed)), splits_to_json(splits));
  std::multiset<std::string> all_val;
  for (const auto& s : splits) {
    EXPECT_EQ(s.train.size() + s.val.size(), 23u);
    const std::set<std::string> train(s.train.begin(), s.train.end());
    for (const auto& id : s.val) EXPECT_EQ(train.count(id), 0u) << id;
    all_val.insert(s.val.begin(), s.val.end());
  }
  EXPECT_EQ(all_val, std::multiset<std::string>(names.begin(), names.end()));
  EXPECT_EQ(splits[0].val.size(), 5u);  // 23 = 5 + 5 + 5 + 4 + 4
  EXPECT_EQ(splits[4].val.size(), 4u);
  EXPECT_NE(splits_to_json(make_kfold_splits(names, 5, 1)),
            splits_to_json(splits));  // the seed matters
}

TEST(KFoldSplit, TooFewCasesForFiveFolds) {
  EXPECT_THAT(
      error_of([] { make_kfold_splits(ids(4)); }),
      HasSubstr(
          "a 5-fold split needs at least 5 cases, the dataset has 4 (train with -f all instead)"));
}

TEST(KFoldSplit, WrittenOnceThenReadBackWithUserEdits) {
  testing::TempDir dir;
  const auto file = dir / kSplitsFile;
  const auto created = load_or_create_splits(file, ids(10));
  ASSERT_TRUE(std::filesystem::exists(file));
  const nlohmann::json written = read_json(file);
  ASSERT_TRUE(written.is_array());
  EXPECT_EQ(written.size(), 5u);
  EXPECT_TRUE(written[0].contains("train") && written[0].contains("val"));

  // A user moves case_00 into fold 0's training set: the edit is kept.
  nlohmann::json edited = written;
  edited[0]["val"] = {"case_09"};
  edited[0]["train"] = {"case_00", "case_01"};
  write_json(file, edited);
  const auto fold0 = select_fold(file, ids(10), 0);
  EXPECT_THAT(fold0.val, ElementsAre("case_09"));
  EXPECT_THAT(fold0.train, ElementsAre("case_00", "case_01"));
  EXPECT_EQ(read_json(file), edited);  // never rewritten
}

TEST(KFoldSplit, RejectsUnknownIdsOverlapsAndMissingFolds) {
  testing::TempDir dir;
  const auto file = dir / kSplitsFile;
  write_json(file,
             nlohmann::json::array({{{"train", {"case_00", "case_07"}}, {"val", {"case_01"}}}}));
  EXPECT_THAT(
      error_of([&] { select_fold(file, ids(5), 0); }),
      HasSubstr("fold 0 names case 'case_07', which is not among the 5 preprocessed cases"));
  write_json(file,
             nlohmann::json::array({{{"train", {"case_00", "case_01"}}, {"val", {"case_01"}}}}));
  EXPECT_THAT(error_of([&] { select_fold(file, ids(5), 0); }),
              HasSubstr("case 'case_01' in both train and val"));
  write_json(file, nlohmann::json::array({{{"train", {"case_00"}}, {"val", {"case_01"}}}}));
  EXPECT_THAT(error_of([&] { select_fold(file, ids(5), 3); }),
              HasSubstr("has 1 folds (0 to 0); there is no fold 3"));
  write_json(file,
             nlohmann::json::array({{{"train", {"case_00"}}, {"val", {"case_01"}}, {"test", {}}}}));
  EXPECT_THAT(error_of([&] { select_fold(file, ids(5), 0); }),
              HasSubstr("unknown key 'fold 0.test'"));
}

TEST(KFoldSplit, FoldAllUsesEveryCaseForTrainingAndValidationWithoutASplitFile) {
  testing::TempDir dir;
  const auto all = select_fold(dir / kSplitsFile, {"b", "a", "c"}, kFoldAll);
  EXPECT_THAT(all.train, ElementsAre("a", "b", "c"));
  EXPECT_THAT(all.val, ElementsAre("a", "b", "c"));
  EXPECT_FALSE(std::filesystem::exists(dir / kSplitsFile));
}

TEST(KFoldSplit, ParsesFoldArguments) {
  EXPECT_EQ(parse_fold("0"), 0);
  EXPECT_EQ(parse_fold("4"), 4);
  EXPECT_EQ(parse_fold("all"), kFoldAll);
  EXPECT_THAT(error_of([] { parse_fold("-1"); }),
              HasSubstr("must be a fold number (0, 1, ...) or 'all', got '-1'"));
  EXPECT_THAT(error_of([] { parse_fold("x"); }), HasSubstr("got 'x'"));
  EXPECT_EQ(fold_folder_name(2), "fold_2");
  EXPECT_EQ(fold_folder_name(kFoldAll), "fold_all");
}

}  // namespace
}  // namespace medseg
