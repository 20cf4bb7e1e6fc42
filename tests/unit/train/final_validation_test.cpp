#include "medseg/train/final_validation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using torch::indexing::Slice;

// The final validation's summary leaves out the voxels dataset.json's ignore label marks, as
// the reference's evaluation does (issue 25): a case annotated on its first slice only.
TEST(FinalValidationSummary, LeavesOutTheIgnoreLabelsVoxels) {
  testing::TempDir tmp;
  const fs::path ref_dir = tmp.path() / "labelsTr", pred_dir = tmp.path() / "validation";
  fs::create_directories(ref_dir);
  fs::create_directories(pred_dir);
  at::Tensor ref = torch::full({3, 4, 4}, 2, torch::kByte);  // 2: "ignore"
  ref.index_put_({0}, 0);
  ref.index_put_({0, Slice(0, 2), Slice(0, 2)}, 1);
  at::Tensor pred = torch::zeros({3, 4, 4}, torch::kByte);
  pred.index_put_({Slice(), Slice(0, 2), Slice(0, 2)}, 1);  // right on slice 0, beyond elsewhere
  const ImageGeometry g = ImageGeometry::with_spacing({1.0, 1.0, 1.0});
  write_label_image(Image{ref, g}, ref_dir / "case_a.nii.gz");
  write_label_image(Image{pred, g}, pred_dir / "case_a.nii.gz");
  DatasetInfo dataset;
  dataset.labels = {{"background", {0}}, {"organ", {1}}, {"ignore", {2}}};
  dataset.ignore_label = 2;
  const EvaluationSummary s = evaluate_cases(ref_dir, pred_dir, {"case_a"}, dataset, 1);
  ASSERT_EQ(s.labels.size(), 1u);
  ASSERT_EQ(s.cases.size(), 1u);
  EXPECT_EQ(s.cases[0].metrics[0].counts.tp, 4);
  EXPECT_EQ(s.cases[0].metrics[0].counts.fp, 0);
  EXPECT_DOUBLE_EQ(s.cases[0].metrics[0].dice, 1.0);
  EXPECT_TRUE(fs::exists(pred_dir / "summary.json"));
}

}  // namespace
}  // namespace medseg
