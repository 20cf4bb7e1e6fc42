#include "medseg/infer/postprocessing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// (1, 6, 8) label map: label 1 in rows 0-1 x cols 0-3, label 2 in rows 2-3 x cols 0-3 (touching
// label 1), a stray label-1 voxel at (5, 7) and a stray label-2 voxel at (5, 0).
at::Tensor touching_labels() {
  at::Tensor s = torch::zeros({1, 6, 8}, torch::kUInt8);
  s[0].slice(0, 0, 2).slice(1, 0, 4).fill_(1);
  s[0].slice(0, 2, 4).slice(1, 0, 4).fill_(2);
  s[0][5][7] = 1;
  s[0][5][0] = 2;
  return s;
}

TEST(KeepLargestComponent, OfTheUnionRemovesStraysOfEveryLabel) {
  const at::Tensor s = touching_labels();
  const at::Tensor out = keep_largest_component(s, {1, 2});
  EXPECT_EQ(out[0][5][7].item<int>(), 0);
  EXPECT_EQ(out[0][5][0].item<int>(), 0);
  EXPECT_EQ(out.eq(1).sum().item<int64_t>(), 8);
  EXPECT_EQ(out.eq(2).sum().item<int64_t>(), 8);
  EXPECT_EQ(s[0][5][7].item<int>(), 1);  // the input is not modified
}

TEST(KeepLargestComponent, OfOneLabelLeavesTheOthers) {
  const at::Tensor out = keep_largest_component(touching_labels(), {1});
  EXPECT_EQ(out[0][5][7].item<int>(), 0);
  EXPECT_EQ(out[0][5][0].item<int>(), 2);
}

TEST(Postprocessing, StepsApplyInOrder) {
  PostprocessingPlan plan;
  plan.steps = {{{2}}, {{1}}};
  const at::Tensor out = apply_postprocessing(touching_labels(), plan);
  EXPECT_EQ(out.eq(1).sum().item<int64_t>(), 8);
  EXPECT_EQ(out.eq(2).sum().item<int64_t>(), 8);
  EXPECT_TRUE(torch::equal(apply_postprocessing(touching_labels(), PostprocessingPlan{}), touching_labels()));
}

TEST(Postprocessing, JsonRoundTripAndStrictReading) {
  testing::TempDir dir;
  PostprocessingPlan plan;
  plan.steps = {{{1, 2}}, {{2}}};
  plan.details = {{"cases", 3}};
  write_postprocessing(plan, dir / "postprocessing.json");
  const nlohmann::json j = read_json(dir / "postprocessing.json");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["connectivity"], "full");
  EXPECT_EQ(j["steps"][0]["operation"], "keep_largest_component");
  const PostprocessingPlan back = read_postprocessing(dir / "postprocessing.json");
  ASSERT_EQ(back.steps.size(), 2u);
  EXPECT_THAT(back.steps[0].labels, ElementsAre(1, 2));
  EXPECT_THAT(back.steps[1].labels, ElementsAre(2));
  EXPECT_EQ(back.details["cases"], 3);

  nlohmann::json bad = j;
  bad["steps"][0]["operation"] = "fill_holes";
  try {
    postprocessing_from_json(bad, "pp.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("pp.json: steps[0]: unknown operation"));
  }
  bad = j;
  bad["extra"] = 1;
  EXPECT_THROW(postprocessing_from_json(bad, "pp.json"), Error);
  bad = j;
  bad["steps"][1]["labels"] = nlohmann::json::array();
  EXPECT_THROW(postprocessing_from_json(bad, "pp.json"), Error);
}

}  // namespace
}  // namespace medseg
