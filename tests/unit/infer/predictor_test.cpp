// The whole prediction path with networks whose logits are known per voxel: files in, files out,
// through transpose, crop, resampling, padding, tiles, mirroring and export.
#include "medseg/infer/predictor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/preprocess/npy.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using testing::bordered_image;
using testing::expected_threshold_mask;
using ::testing::HasSubstr;
using testing::infer_plans;
using testing::threshold_network;

Predictor threshold_predictor(const Plans& plans, const std::string& configuration,
                              DatasetInfo dataset, PredictionOptions options = {}) {
  return Predictor(plans, configuration, std::move(dataset),
                   std::vector<LogitsFunction>{threshold_network()}, torch::kCPU, options);
}

fs::path write_input(const testing::TempDir& dir, const Image& image,
                     const std::string& name = "case_0000.nii.gz") {
  fs::create_directories(dir / "in");
  write_image(image, dir / "in" / name);
  return dir / "in" / name;
}

void expect_same_geometry(const ImageGeometry& out, const ImageGeometry& in) {
  EXPECT_TRUE(out.matches(in, 1e-9, 1e-9, 1e-9)) << out.describe() << " vs " << in.describe();
}

// Spacing (1, 3, 1) puts y first (transpose 1, 0, 2); patch (8, 16, 8) tiles the transposed
// z and pads y and x; the zero border is cropped and must come back as background.
TEST(Predictor, WholePathGivesTheExpectedMaskWithTheInputGeometry) {
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  const Plans plans = infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  threshold_predictor(plans, "3d_fullres", testing::three_class_dataset())
      .predict_case({input}, dir / "out" / "case.nii.gz");
  const Image in = read_image(input);
  const Image out = read_image(dir / "out" / "case.nii.gz");
  ASSERT_EQ(out.data.sizes(), in.data.sizes());
  EXPECT_TRUE(torch::equal(out.data.to(torch::kUInt8), expected_threshold_mask(in)));
  EXPECT_EQ(out.data.eq(1).sum().item<int64_t>(), 3 * 5 * 3);  // the block of 10
  expect_same_geometry(out.geometry, in.geometry);
}

TEST(Predictor, ResamplingToTheTargetSpacingAndBackKeepsTheMask) {
  // Target spacing 1.5 along the transposed first axis: 12 -> 24 voxels there, and back.
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  const Plans plans = infer_plans("3d_fullres", {1.5, 1, 1}, {16, 8, 8}, {1, 0, 2});
  threshold_predictor(plans, "3d_fullres", testing::three_class_dataset())
      .predict_case({input}, dir / "case.nii.gz");
  const Image in = read_image(input);
  const Image out = read_image(dir / "case.nii.gz");
  EXPECT_TRUE(torch::equal(out.data.to(torch::kUInt8), expected_threshold_mask(in)));
  expect_same_geometry(out.geometry, in.geometry);
}

TEST(Predictor, ProbabilitiesAreWrittenInTheInputGeometry) {
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  PredictionOptions options;
  options.save_probabilities = true;
  const Plans plans = infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  threshold_predictor(plans, "3d_fullres", testing::three_class_dataset(), options)
      .predict_case({input}, dir / "out" / "case.nii.gz");
  const at::Tensor p = read_npy(dir / "out" / "case.npy");
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{3, 10, 12, 9}));
  ASSERT_EQ(p.scalar_type(), torch::kFloat);
  // Inside the block of 10: softmax(0, 5, -15).
  const at::Tensor expected = torch::softmax(torch::tensor({0.0f, 5.0f, -15.0f}), 0);
  EXPECT_TRUE(torch::allclose(p.select(3, 2).select(2, 4).select(1, 3), expected, 1e-5, 1e-6));
  // Outside the crop box (x = 8): certain background.
  EXPECT_TRUE(
      torch::allclose(p.select(3, 8).select(2, 4).select(1, 3), torch::tensor({1.0f, 0.0f, 0.0f})));
  EXPECT_TRUE(torch::allclose(p.sum(0), torch::ones({10, 12, 9}), 1e-5, 1e-5));
  const nlohmann::json j = read_json(dir / "out" / "case_probabilities.json");
  EXPECT_EQ(j["axes"], nlohmann::json({"class", "z", "y", "x"}));
  EXPECT_EQ(j["nonlinearity"], "softmax");
  EXPECT_EQ(j["classes"][2]["name"], "b");
  EXPECT_EQ(j["shape"], nlohmann::json({3, 10, 12, 9}));
  EXPECT_EQ(j["segmentation"], "case.nii.gz");
}

TEST(Predictor, TwoDimensionalConfigurationOnAVolumeRunsSliceBySlice) {
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  std::vector<int64_t> dims;
  const LogitsFunction net2d = [&](const at::Tensor& x) {
    dims.push_back(x.dim());
    return threshold_network()(x);
  };
  const Plans plans = infer_plans("2d", {1, 1}, {8, 8}, {1, 0, 2});
  Predictor(plans, "2d", testing::three_class_dataset(), std::vector<LogitsFunction>{net2d},
            torch::kCPU, {})
      .predict_case({input}, dir / "case.nii.gz");
  const Image in = read_image(input);
  EXPECT_TRUE(torch::equal(read_image(dir / "case.nii.gz").data.to(torch::kUInt8),
                           expected_threshold_mask(in)));
  ASSERT_FALSE(dims.empty());
  for (int64_t d : dims) EXPECT_EQ(d, 4);
}

TEST(Predictor, TwoDimensionalImagesStayTwoDimensional) {
  testing::TempDir dir;
  Image slice{bordered_image().data[3].clone(), ImageGeometry::with_spacing({0.7, 0.5})};
  slice.geometry.origin = {3.0, -4.0};
  slice.geometry.direction = {0.6, -0.8, 0.8, 0.6};
  const fs::path input = write_input(dir, slice);
  const Plans plans = infer_plans("2d", {0.7, 0.5}, {8, 8}, {0, 1});
  threshold_predictor(plans, "2d", testing::three_class_dataset())
      .predict_case({input}, dir / "case.nii.gz");
  const Image in = read_image(input);
  const Image out = read_image(dir / "case.nii.gz");
  ASSERT_EQ(out.data.dim(), 2);
  EXPECT_TRUE(torch::equal(out.data.to(torch::kUInt8), expected_threshold_mask(in)));
  expect_same_geometry(out.geometry, in.geometry);
}

TEST(Predictor, RegionsArePaintedInRegionsClassOrder) {
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  // Region "whole" where x > 15, "core" where x > 25.
  const LogitsFunction regions = [](const at::Tensor& in) {
    const at::Tensor x = in.narrow(1, 0, 1);
    return torch::cat({x - 15, x - 25}, 1);
  };
  const Plans plans = infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  Predictor(plans, "3d_fullres", testing::region_dataset(), std::vector<LogitsFunction>{regions},
            torch::kCPU, {})
      .predict_case({input}, dir / "case.nii.gz");
  const at::Tensor x = read_image(input).data;
  const at::Tensor expected = x.eq(20).to(torch::kUInt8) + 2 * x.eq(30).to(torch::kUInt8);
  EXPECT_TRUE(torch::equal(read_image(dir / "case.nii.gz").data.to(torch::kUInt8), expected));
}

TEST(Predictor, PostprocessingIsApplied) {
  testing::TempDir dir;
  Image image = bordered_image();
  image.data[8][11][0] = 30;  // a stray voxel of label 2 at the box's corner, apart from the block
  const fs::path input = write_input(dir, image);
  const Plans plans = infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  Predictor predictor = threshold_predictor(plans, "3d_fullres", testing::three_class_dataset());
  predictor.predict_case({input}, dir / "raw.nii.gz");
  EXPECT_EQ(read_image(dir / "raw.nii.gz").data[8][11][0].item<int>(), 2);
  PostprocessingPlan plan;
  plan.steps = {{{2}}};
  predictor.set_postprocessing(plan);
  predictor.predict_case({input}, dir / "pp.nii.gz");
  const at::Tensor pp = read_image(dir / "pp.nii.gz").data;
  EXPECT_EQ(pp[8][11][0].item<int>(), 0);
  EXPECT_EQ(pp.eq(2).sum().item<int64_t>(), 3 * 5 * 4);
}

TEST(Predictor, BadInputGivesClearErrorsAndNoOutput) {
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  const Plans plans = infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  const Predictor p = threshold_predictor(plans, "3d_fullres", testing::three_class_dataset());
  try {
    p.predict_case({input, input}, dir / "out.nii.gz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr("case case: expected 1 channel file(s) (dataset.json channels: MRI0), got 2"));
  }
  { std::ofstream(dir / "in" / "broken_0000.nii.gz") << "not an image"; }
  try {
    p.predict_case({dir / "in" / "broken_0000.nii.gz"}, dir / "out.nii.gz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("broken_0000.nii.gz"));
  }
  EXPECT_THROW(p.predict_case({dir / "in" / "missing_0000.nii.gz"}, dir / "out.nii.gz"), Error);
  EXPECT_FALSE(fs::exists(dir / "out.nii.gz"));
  try {
    Predictor(plans, "2d", testing::three_class_dataset(),
              std::vector<LogitsFunction>{threshold_network()}, torch::kCPU, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no configuration '2d' (planned: 3d_fullres)"));
  }
}

}  // namespace
}  // namespace medseg

namespace medseg {
namespace {

// Quality assurance (qa/): the case's record, its uncertainty maps in the input geometry, the
// picture, and the out-of-distribution check against a training profile.
TEST(Predictor, QaRecordUncertaintyMapsAndPictureOfACase) {
  testing::TempDir dir;
  const fs::path input = write_input(dir, bordered_image());
  PredictionOptions options;
  options.uncertainty = true;
  options.qa_images = PredictionOptions::QaImages::kFlagged;
  const Plans plans = infer_plans("3d_fullres", {3, 1, 1}, {8, 16, 8}, {1, 0, 2});
  Predictor predictor =
      threshold_predictor(plans, "3d_fullres", testing::three_class_dataset(), options);
  EXPECT_THAT(predictor.ood_note(), HasSubstr("the model has no training_profile.json"));
  const fs::path output = dir / "out" / "case.nii.gz";
  const CaseQa qa = predictor.predict_case({input}, output);
  EXPECT_EQ(qa.case_id, "case");
  EXPECT_EQ(qa.output, "case.nii.gz");
  EXPECT_FALSE(qa.ood_checked);
  // The block of 10 is label a: 3 x 5 x 3 voxels of 1 x 3 x 1 mm.
  EXPECT_DOUBLE_EQ(qa.features.at("volume_a"), 135.0);
  EXPECT_DOUBLE_EQ(qa.features.at("components_a"), 1);
  EXPECT_DOUBLE_EQ(qa.features.at("spacing_y"), 3.0);
  ASSERT_TRUE(qa.uncertainty.has_value());
  EXPECT_GT(qa.uncertainty->foreground_voxels, 0);
  EXPECT_EQ(qa.picture, "");  // not flagged: no picture
  const Image in = read_image(input);
  const Image entropy = read_image(entropy_file(output, ".nii.gz"));
  const Image mi = read_image(mutual_information_file(output, ".nii.gz"));
  expect_same_geometry(entropy.geometry, in.geometry);
  expect_same_geometry(mi.geometry, in.geometry);
  ASSERT_EQ(entropy.data.sizes(), in.data.sizes());
  // Inside the block of 10 the logits are (0, 5, -15): the entropy of their softmax.
  const at::Tensor p = torch::softmax(torch::tensor({0.0, 5.0, -15.0}, torch::kDouble), 0);
  const double h = -(p * p.log()).sum().item<double>() / std::log(3.0);
  EXPECT_NEAR(entropy.data[3][4][2].item<double>(), h, 1e-4);
  EXPECT_NEAR(entropy.data[0][0][0].item<double>(), 0.0, 1e-9);  // outside the crop box
  EXPECT_LT(mi.data.max().item<double>(), 1e-4);  // one network, per-voxel: members agree

  // A profile of five cases at another spacing: the case is flagged, its picture written.
  TrainingProfile profile;
  profile.normalization_schemes = {"NoNormalization"};
  for (int i = 0; i < 5; ++i) {
    CaseFeatures f = qa.features;
    f.set("spacing_y", 0.5 + 0.01 * i);
    profile.cases.push_back(f);
  }
  predictor.set_training_profile(profile);
  EXPECT_EQ(predictor.ood_note(), "");
  const CaseQa flagged = predictor.predict_case({input}, output);
  ASSERT_TRUE(flagged.ood_checked);
  ASSERT_EQ(flagged.findings.size(), 1u);
  EXPECT_EQ(flagged.findings[0].feature, "spacing_y");
  EXPECT_EQ(flagged.picture, "qa/case.png");
  EXPECT_TRUE(fs::exists(dir / "out" / "qa" / "case.png"));
}

}  // namespace
}  // namespace medseg
