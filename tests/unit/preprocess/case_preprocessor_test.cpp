#include "medseg/preprocess/case_preprocessor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/preprocess/resample_axis.h"
#include "support/plans_builder.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::minimal_plans;

std::vector<int64_t> v(at::IntArrayRef a) {
  return {a.begin(), a.end()};
}

// (6, 8, 10): zero outside a body at z 1..4, y 2..6, x 3..8; label 1 in a block inside it.
Image body_image(const std::vector<double>& spacing = {1, 1, 1}) {
  at::Tensor data = torch::zeros({6, 8, 10});
  data.slice(0, 1, 5).slice(1, 2, 7).slice(2, 3, 9).copy_(
      torch::arange(4 * 5 * 6, torch::kFloat).reshape({4, 5, 6}) + 1);
  return Image{data, ImageGeometry::with_spacing(spacing)};
}

Image body_label(const std::vector<double>& spacing = {1, 1, 1}) {
  at::Tensor labels = torch::zeros({6, 8, 10}, torch::kByte);
  labels.slice(0, 2, 4).slice(1, 3, 5).slice(2, 4, 6).fill_(1);
  return Image{labels, ImageGeometry::with_spacing(spacing)};
}

CasePreprocessOptions options_with_classes() {
  CasePreprocessOptions o;
  o.case_id = "case_1";
  o.classes = {{"organ", {1}}};
  return o;
}

TEST(PreprocessCase, CropsNormalizesAndRecordsTheGeometry) {
  const Plans plans = minimal_plans({1, 1, 1}, "ZScoreNormalization");
  const Image label = body_label();
  const PreprocessedCase out = preprocess_case(
      {body_image()}, &label, plans, plans.configuration("3d_fullres"), options_with_classes());
  const CaseProperties& p = out.properties;
  EXPECT_EQ(p.original_shape, (std::vector<int64_t>{6, 8, 10}));
  EXPECT_EQ(p.shape_before_cropping, (std::vector<int64_t>{6, 8, 10}));
  EXPECT_EQ(p.crop_box.begin, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(p.crop_box.end, (std::vector<int64_t>{5, 7, 9}));
  EXPECT_EQ(p.shape_after_cropping, (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(p.shape_after_resampling, (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(p.separate_z_axis, std::nullopt);
  EXPECT_EQ(v(out.data.sizes()), (std::vector<int64_t>{1, 4, 5, 6}));
  EXPECT_EQ(out.data.scalar_type(), torch::kFloat);
  EXPECT_NEAR(out.data.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(out.data.std(/*unbiased=*/false).item<double>(), 1.0, 1e-5);
  // 1..120 z-scored: the first voxel is (1 - 60.5) / sqrt((120^2 - 1) / 12).
  EXPECT_NEAR(out.data[0][0][0][0].item<double>(), -59.5 / std::sqrt((120.0 * 120 - 1) / 12), 1e-5);
  EXPECT_EQ(out.segmentation.scalar_type(), torch::kShort);
  EXPECT_EQ(v(out.segmentation.sizes()), (std::vector<int64_t>{1, 4, 5, 6}));
  EXPECT_EQ(out.segmentation.eq(1).sum().item<int64_t>(), 8);
  EXPECT_EQ(out.segmentation.eq(-1).sum().item<int64_t>(), 0);  // the body fills its box
  ASSERT_EQ(p.class_locations.size(), 1u);
  EXPECT_EQ(p.class_locations[0].voxels, 8);
  EXPECT_EQ(p.class_locations[0].count(3), 8);
}

TEST(PreprocessCase, MaskedZScoreUsesTheMinusOneRegion) {
  Plans plans = minimal_plans({1, 1, 1}, "ZScoreNormalization");
  plans.configurations.at("3d_fullres").use_mask_for_norm = {true};
  // A body that does not fill its box: a corner of the box is outside (zero, -1).
  Image image = body_image();
  image.data[1][2][3] = 0;
  const Image label = body_label();
  const PreprocessedCase out = preprocess_case(
      {image}, &label, plans, plans.configuration("3d_fullres"), options_with_classes());
  EXPECT_EQ(out.segmentation[0][0][0][0].item<int>(), -1);
  EXPECT_EQ(out.data[0][0][0][0].item<float>(), 0.0f);
  const at::Tensor inside = out.data[0].masked_select(out.segmentation[0].ge(0));
  EXPECT_NEAR(inside.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(inside.std(false).item<double>(), 1.0, 1e-5);
}

TEST(PreprocessCase, TransposesFirst) {
  Plans plans = minimal_plans({2, 1, 1}, "NoNormalization");
  plans.transpose_forward = {2, 0, 1};
  plans.transpose_backward = {1, 2, 0};
  const Image label = body_label({1, 1, 2});
  const PreprocessedCase out =
      preprocess_case({body_image({1, 1, 2})}, &label, plans, plans.configuration("3d_fullres"),
                      options_with_classes());
  const CaseProperties& p = out.properties;
  EXPECT_EQ(p.transpose_forward, (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(p.shape_before_cropping, (std::vector<int64_t>{10, 6, 8}));
  EXPECT_EQ(p.spacing_after_transpose, (std::vector<double>{2, 1, 1}));
  EXPECT_EQ(p.crop_box.begin, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(p.shape_after_cropping, (std::vector<int64_t>{6, 4, 5}));
  // Voxel (z, y, x) = (1, 2, 3) of the input (value 1) is (3, 1, 2) after transpose: the crop's
  // corner.
  EXPECT_EQ(out.data[0][0][0][0].item<float>(), 1.0f);
  EXPECT_EQ(out.data[0][1][0][0].item<float>(), 2.0f);  // the next voxel along input x
}

TEST(PreprocessCase, ResamplesToTheConfigurationSpacing) {
  const Plans plans = minimal_plans({1, 1, 1}, "NoNormalization");
  const Image label = body_label({2, 1, 1});
  const PreprocessedCase out =
      preprocess_case({body_image({2, 1, 1})}, &label, plans, plans.configuration("3d_fullres"),
                      options_with_classes());
  EXPECT_EQ(out.properties.shape_after_resampling, (std::vector<int64_t>{8, 5, 6}));
  EXPECT_EQ(out.properties.separate_z_axis, std::nullopt);  // 2 / 1 is not anisotropic
  EXPECT_EQ(v(out.data.sizes()), (std::vector<int64_t>{1, 8, 5, 6}));
  EXPECT_EQ(v(out.segmentation.sizes()), (std::vector<int64_t>{1, 8, 5, 6}));
  EXPECT_EQ(out.segmentation.eq(1).sum().item<int64_t>(), 16);  // the label doubles along z
  EXPECT_EQ(out.properties.class_locations[0].voxels, 16);
}

TEST(PreprocessCase, AnisotropicCasesResampleZSeparatelyWithNearestNeighbour) {
  const Plans plans = minimal_plans({2, 1, 1}, "NoNormalization");
  const Image label = body_label({4, 1, 1});
  const PreprocessedCase out =
      preprocess_case({body_image({4, 1, 1})}, &label, plans, plans.configuration("3d_fullres"),
                      options_with_classes());
  EXPECT_EQ(out.properties.separate_z_axis, 0);  // 4 / 1 > 3
  EXPECT_EQ(out.properties.shape_after_resampling, (std::vector<int64_t>{8, 5, 6}));
  // In-plane unchanged, so every output slice is exactly its nearest input slice.
  const at::Tensor cropped = body_image().data.slice(0, 1, 5).slice(1, 2, 7).slice(2, 3, 9);
  const std::vector<int64_t> source = nearest_source_indices(4, 8);
  for (int64_t z = 0; z < 8; ++z)
    EXPECT_TRUE(torch::equal(out.data[0][z], cropped[source[z]])) << z;
}

TEST(PreprocessCase, NeverModifiesTheInputImage) {
  // Nonzero everywhere: the crop keeps the whole volume, and normalization must not write
  // through to the caller's tensor.
  const Plans plans = minimal_plans({1, 1, 1}, "ZScoreNormalization");
  const Image image{torch::arange(1, 61, torch::kFloat).reshape({3, 4, 5}),
                    ImageGeometry::with_spacing({1, 1, 1})};
  const at::Tensor before = image.data.clone();
  const PreprocessedCase out =
      preprocess_case({image}, nullptr, plans, plans.configuration("3d_fullres"), {});
  EXPECT_TRUE(torch::equal(image.data, before));
  EXPECT_EQ(out.properties.shape_after_cropping, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_NEAR(out.data.mean().item<double>(), 0.0, 1e-5);
}

TEST(PreprocessCase, WithoutALabelForPrediction) {
  const Plans plans = minimal_plans({1, 1, 1}, "ZScoreNormalization");
  const Image label = body_label();
  const auto with = preprocess_case({body_image()}, &label, plans,
                                    plans.configuration("3d_fullres"), options_with_classes());
  const auto without = preprocess_case({body_image()}, nullptr, plans,
                                       plans.configuration("3d_fullres"), options_with_classes());
  EXPECT_FALSE(without.segmentation.defined());
  EXPECT_TRUE(without.properties.class_locations.empty());
  EXPECT_TRUE(torch::equal(with.data, without.data));
  EXPECT_EQ(with.properties.crop_box.begin, without.properties.crop_box.begin);
}

TEST(PreprocessCase, TwoDimensionalInputsBecomeOneSlice) {
  const Plans plans = minimal_plans({1, 1}, "NoNormalization");
  const Image image{body_image().data[2], ImageGeometry::with_spacing({0.5, 0.5})};
  const PreprocessedCase out =
      preprocess_case({image}, nullptr, plans, plans.configuration("2d"), {});
  EXPECT_EQ(out.properties.original_shape, (std::vector<int64_t>{8, 10}));
  EXPECT_EQ(out.properties.spacing_after_transpose, (std::vector<double>{999, 0.5, 0.5}));
  EXPECT_EQ(out.properties.target_spacing, (std::vector<double>{999, 1, 1}));
  // The cropped (1, 5, 6) at half the resolution: 2.5 rounds to 2 (halves to even), 3.
  EXPECT_EQ(out.properties.shape_after_resampling, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(out.data.dim(), 4);
}

TEST(PreprocessCase, TwoDimensionalConfigurationKeepsTheSliceSpacing) {
  const Plans plans = minimal_plans({0.5, 0.5}, "NoNormalization");
  const PreprocessedCase out =
      preprocess_case({body_image({3, 1, 1})}, nullptr, plans, plans.configuration("2d"), {});
  EXPECT_EQ(out.properties.target_spacing, (std::vector<double>{3, 0.5, 0.5}));
  EXPECT_EQ(out.properties.shape_after_resampling, (std::vector<int64_t>{4, 10, 12}));
  EXPECT_EQ(out.properties.separate_z_axis, 0);  // 3 / 0.5 > 3 after the target spacing
}

TEST(PreprocessCase, MismatchedInputsNameTheCase) {
  const Plans plans = minimal_plans({1, 1, 1}, "ZScoreNormalization");
  const auto& config = plans.configuration("3d_fullres");
  const Image small{torch::ones({2, 2, 2}), ImageGeometry::with_spacing({1, 1, 1})};
  auto message = [&](const std::vector<Image>& channels, const Image* label) {
    try {
      preprocess_case(channels, label, plans, config, options_with_classes());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message({body_image(), small}, nullptr),
              HasSubstr("case case_1: channel 1 has shape (2, 2, 2)"));
  EXPECT_THAT(message({body_image()}, &small),
              HasSubstr("case case_1: the label has shape (2, 2, 2)"));
  Plans two = plans;
  two.configurations.at("3d_fullres").normalization_schemes = {"ZScoreNormalization",
                                                               "CTNormalization"};
  two.configurations.at("3d_fullres").use_mask_for_norm = {false, false};
  try {
    preprocess_case({body_image()}, nullptr, two, two.configuration("3d_fullres"),
                    options_with_classes());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("plans 2 channel(s) but the case has 1"));
  }
}

}  // namespace
}  // namespace medseg
