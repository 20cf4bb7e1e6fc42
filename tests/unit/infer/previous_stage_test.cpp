// The cascade: the previous stage's segmentation enters the network as one-hot channels.
#include "medseg/infer/previous_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/infer/predictor.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Plans cascade_plans(const std::vector<double>& spacing) {
  Plans plans = testing::infer_plans("3d_cascade_fullres", spacing, {8, 8, 8}, {1, 0, 2});
  plans.configurations["3d_cascade_fullres"].previous_stage = "3d_lowres";
  return plans;
}

// The previous stage's labels: 1 on the block of 10, 2 on the block of 30.
Image previous_segmentation() {
  const Image image = testing::bordered_image();
  return Image{image.data.eq(10).to(torch::kUInt8) + 2 * image.data.eq(30).to(torch::kUInt8), image.geometry};
}

// Logits (0.5, one-hot 1, one-hot 2): the previous stage's label wherever it has one.
LogitsFunction echo_previous_stage() {
  return [](const at::Tensor& x) {
    EXPECT_EQ(x.size(1), 3);  // image + one channel per foreground label
    return torch::cat({torch::full_like(x.narrow(1, 0, 1), 0.5), x.narrow(1, 1, 2)}, 1);
  };
}

TEST(PreviousStage, OneHotChannelsOfTheForegroundLabels) {
  const DatasetInfo dataset = testing::three_class_dataset();
  EXPECT_THAT(previous_stage_label_values(dataset), ElementsAre(1, 2));
  EXPECT_THAT(previous_stage_label_values(testing::region_dataset()), ElementsAre(1, 2));
  const Plans plans = cascade_plans({3, 1, 1});
  EXPECT_EQ(network_input_channels(plans.configuration("3d_cascade_fullres"), dataset), 3);
  EXPECT_EQ(network_input_channels(testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8})
                                       .configuration("3d_fullres"), dataset), 1);
  const at::Tensor data = torch::full({1, 1, 1, 4}, 7.0f);
  const at::Tensor seg = torch::tensor({-1, 0, 1, 2}, torch::kShort).reshape({1, 1, 1, 4});
  const at::Tensor out = append_previous_stage(data, seg, {1, 2});
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 1, 1, 4}));
  EXPECT_TRUE(torch::equal(out[1].flatten(), torch::tensor({0.0f, 0.0f, 1.0f, 0.0f})));
  EXPECT_TRUE(torch::equal(out[2].flatten(), torch::tensor({0.0f, 0.0f, 0.0f, 1.0f})));
  EXPECT_THROW(append_previous_stage(data, torch::zeros({1, 1, 2, 4}), {1}), Error);
}

class Cascade : public ::testing::TestWithParam<double> {};

// Spacing 3 along the transposed first axis keeps the grid; 1.5 resamples it (the previous
// stage's labels one-hot, linearly) and back.
TEST_P(Cascade, PredictionSeesThePreviousStage) {
  testing::TempDir dir;
  fs::create_directories(dir / "in");
  write_image(testing::bordered_image(), dir / "in" / "case_0000.nii.gz");
  write_label_image(previous_segmentation(), dir / "lowres.nii.gz");
  const Predictor p(cascade_plans({GetParam(), 1, 1}), "3d_cascade_fullres", testing::three_class_dataset(),
                    std::vector<LogitsFunction>{echo_previous_stage()}, torch::kCPU, {});
  EXPECT_TRUE(p.needs_previous_stage());
  p.predict_case({dir / "in" / "case_0000.nii.gz"}, dir / "case.nii.gz", dir / "lowres.nii.gz");
  EXPECT_TRUE(torch::equal(read_image(dir / "case.nii.gz").data.to(torch::kUInt8), previous_segmentation().data));
  try {
    p.predict_case({dir / "in" / "case_0000.nii.gz"}, dir / "other.nii.gz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("configuration 3d_cascade_fullres is a cascade stage: it needs the "
                                    "segmentation of its previous stage 3d_lowres"));
  }
}

INSTANTIATE_TEST_SUITE_P(Spacings, Cascade, ::testing::Values(3.0, 1.5));

}  // namespace
}  // namespace medseg
