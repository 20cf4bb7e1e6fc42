#include "medseg/plan/feature_map_size.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

ArchitecturePlan architecture(const std::string& network, std::vector<int> features, int dims,
                              std::vector<int> n_conv, std::vector<int> n_conv_decoder) {
  ArchitecturePlan a;
  a.network = network;
  a.n_stages = static_cast<int>(features.size());
  a.features_per_stage = features;
  for (int s = 0; s < a.n_stages; ++s) {
    a.strides.push_back(std::vector<int>(dims, s == 0 ? 1 : 2));
    a.kernel_sizes.push_back(std::vector<int>(dims, 3));
  }
  a.n_conv_per_stage = n_conv;
  a.n_conv_per_stage_decoder = n_conv_decoder;
  return a;
}

TEST(FeatureMapSize, PlainUNetHippocampus3d) {
  // Patch (40, 56, 40), 4 stages (32, 64, 128, 256), 3 classes, no deep supervision.
  // Encoder, 2 convs per stage: 2*32*89600 + 2*64*11200 + 2*128*1400 + 2*256*175 = 7,616,000.
  // Decoder from the bottom: (2 convs + transposed conv) x features x voxels of the skip:
  //   3*128*1400 + 3*64*11200 + 3*32*89600 = 11,289,600, plus the last seg output 3*89600.
  const auto a = architecture("PlainConvUNet", {32, 64, 128, 256}, 3, {2, 2, 2, 2}, {2, 2, 2});
  EXPECT_EQ(conv_feature_map_size(a, {40, 56, 40}, 3), 19174400);
  // Deep supervision adds the two lower seg outputs: 3 * (1400 + 11200).
  EXPECT_EQ(conv_feature_map_size(a, {40, 56, 40}, 3, /*deep_supervision=*/true), 19174400 + 37800);
}

TEST(FeatureMapSize, PlainUNetHippocampus2d) {
  // Patch (56, 40): encoder 2*32*2240 + 2*64*560 + 2*128*140 + 2*256*35 = 268,800;
  // decoder 3*128*140 + 3*64*560 + 3*32*2240 + 3*2240 = 383,040.
  const auto a = architecture("PlainConvUNet", {32, 64, 128, 256}, 2, {2, 2, 2, 2}, {2, 2, 2});
  EXPECT_EQ(conv_feature_map_size(a, {56, 40}, 3), 651840);
}

TEST(FeatureMapSize, FloorDivisionPerStageAsTheReference) {
  // Odd edges: 5 -> 2 -> 1 per stride 2 (floor), one conv per stage, 1 class, patch (5, 5).
  // Encoder: 4*25 + 8*4 + 16*1 = 148; decoder: (1+1)*8*4 + (1+1)*4*25 + 1*25 = 289.
  const auto a = architecture("PlainConvUNet", {4, 8, 16}, 2, {1, 1, 1}, {1, 1});
  EXPECT_EQ(conv_feature_map_size(a, {5, 5}, 1), 437);
  // (5, 1): the second stage has 2 x 0 voxels, so only full resolution counts:
  // encoder 4*5, decoder (1+1)*4*5 + 1*5.
  EXPECT_EQ(conv_feature_map_size(a, {5, 1}, 1), 65);
}

// The reference's own numbers (residual_encoder_unet_planners.py, __main__): the ResEnc M
// networks it calibrated its reference values on, with deep supervision.
TEST(FeatureMapSize, ResidualEncoderUNetMatchesTheReferenceCalibration3d) {
  const auto a = architecture("ResidualEncoderUNet", {32, 64, 128, 256, 320, 320}, 3,
                              {1, 3, 4, 6, 6, 6}, {1, 1, 1, 1, 1});
  EXPECT_EQ(conv_feature_map_size(a, {128, 128, 128}, 3, /*deep_supervision=*/true), 558319104);
}

TEST(FeatureMapSize, ResidualEncoderUNetMatchesTheReferenceCalibration2d) {
  const auto a = architecture("ResidualEncoderUNet", {32, 64, 128, 256, 512, 512, 512}, 2,
                              {1, 3, 4, 6, 6, 6, 6}, {1, 1, 1, 1, 1, 1});
  EXPECT_EQ(conv_feature_map_size(a, {512, 512}, 3, /*deep_supervision=*/true), 129793792);
}

TEST(FeatureMapSize, RejectsInconsistentArchitectures) {
  auto a = architecture("PlainConvUNet", {32, 64}, 3, {2, 2}, {2});
  a.n_conv_per_stage_decoder = {2, 2};
  try {
    conv_feature_map_size(a, {8, 8, 8}, 2);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("do not match n_stages = 2"));
  }
  auto b = architecture("UNetPlusPlus", {32, 64}, 3, {2, 2}, {2});
  EXPECT_THROW(conv_feature_map_size(b, {8, 8, 8}, 2), Error);
  EXPECT_THROW(conv_feature_map_size(architecture("PlainConvUNet", {32}, 3, {2}, {}), {8, 8}, 2),
               Error);
}

}  // namespace
}  // namespace medseg
