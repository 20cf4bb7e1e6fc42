#include "medseg/infer/postprocess_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/infer/postprocessing.h"
#include "medseg/io/image.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using testing::TempDir;

// (2, 4, 6): label 1 in a 2x2x2 block and a stray voxel apart from it, label 2 in a single
// voxel apart from both.
at::Tensor mask_with_strays() {
  at::Tensor s = torch::zeros({2, 4, 6}, torch::kUInt8);
  s.slice(1, 0, 2).slice(2, 0, 2).fill_(1);
  s[1][3][5] = 1;
  s[0][3][0] = 2;
  return s;
}

ImageGeometry tilted_geometry() {
  return {{3.0, 0.8, 0.9}, {-5.0, 7.0, 1.0}, {1, 0, 0, 0, 0, -1, 0, 1, 0}};
}

class PostprocessFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_ / "in");
    write_label_image({mask_with_strays(), tilted_geometry()}, tmp_ / "in" / "c1.nii.gz");
    fs::create_directories(tmp_ / "model");
    write_json(tmp_ / "model" / "dataset.json", testing::three_class_dataset().raw);
    PostprocessingPlan plan;
    plan.steps = {{{1}}};
    write_postprocessing(plan, tmp_ / "model" / "postprocessing.json");
    options_.input_dir = tmp_ / "in";
    options_.output_dir = tmp_ / "out";
    options_.postprocessing_file = tmp_ / "model" / "postprocessing.json";
    options_.threads = 1;
  }

  TempDir tmp_;
  PostprocessFolderOptions options_;
};

TEST_F(PostprocessFolder, KeepsTheLargestComponentOfEachStepWithTheInputGeometry) {
  const PostprocessFolderResult r = postprocess_folder(options_);
  EXPECT_EQ(r.cases, 1u);
  EXPECT_EQ(r.steps, 1u);
  EXPECT_EQ(r.dataset_json, tmp_ / "model" / "dataset.json");  // beside the postprocessing file
  const Image out = read_image(tmp_ / "out" / "c1.nii.gz");
  at::Tensor expected = mask_with_strays();
  expected[1][3][5] = 0;  // the stray label-1 voxel; label 2 is not a step
  EXPECT_TRUE(out.data.to(torch::kUInt8).equal(expected));
  EXPECT_TRUE(out.geometry.matches(tilted_geometry())) << out.geometry.describe();
  // The input is left as it was.
  EXPECT_TRUE(
      read_image(tmp_ / "in" / "c1.nii.gz").data.to(torch::kUInt8).equal(mask_with_strays()));
}

TEST_F(PostprocessFolder, NamesTheFileOrTheMissingDatasetJson) {
  fs::remove(tmp_ / "model" / "dataset.json");
  EXPECT_THAT(
      error_of([&] { postprocess_folder(options_); }),
      HasSubstr("postprocessing.json: no dataset.json beside it or in " + (tmp_ / "in").string()));
  write_json(tmp_ / "in" / "dataset.json", testing::three_class_dataset().raw);
  PostprocessingPlan plan;
  plan.steps = {{{1, 7}}};
  write_postprocessing(plan, tmp_ / "model" / "postprocessing.json");
  EXPECT_EQ(error_of([&] { postprocess_folder(options_); }),
            (tmp_ / "model" / "postprocessing.json").string() + ": steps[0] names label 7, which " +
                (tmp_ / "in" / "dataset.json").string() + " does not declare");
  write_postprocessing(PostprocessingPlan{}, tmp_ / "model" / "postprocessing.json");
  write_image({torch::full({2, 2, 2}, 0.5f), ImageGeometry::with_spacing({1, 1, 1})},
              tmp_ / "in" / "c2.nii.gz");
  EXPECT_EQ(error_of([&] { postprocess_folder(options_); }),
            (tmp_ / "in" / "c2.nii.gz").string() + ": the label map holds non-integer values");
}

}  // namespace
}  // namespace medseg
