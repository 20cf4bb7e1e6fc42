#include "medseg/data/spatial_transform.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "unit/data/synthetic_cases.h"

namespace medseg {
namespace {

// A (1, n, n, n) image of random values and labels 0 with a box of 1 in [lo, hi).
std::pair<at::Tensor, at::Tensor> volume(int64_t n, std::vector<int64_t> lo,
                                         std::vector<int64_t> hi) {
  torch::manual_seed(0);
  at::Tensor image = torch::rand({1, n, n, n});
  at::Tensor labels = torch::zeros({1, n, n, n}, torch::kShort);
  labels[0].slice(0, lo[0], hi[0]).slice(1, lo[1], hi[1]).slice(2, lo[2], hi[2]).fill_(1);
  return {image, labels};
}

TEST(SpatialTransform, WithoutChangesCropsTheCentreExactly) {
  const auto [image, labels] = volume(8, {1, 1, 1}, {3, 3, 3});
  const auto [out, seg] =
      spatial_transform_sample(image, labels, SpatialParams{}, {4, 4, 4}, false);
  EXPECT_TRUE(torch::equal(out, image.slice(1, 2, 6).slice(2, 2, 6).slice(3, 2, 6)));
  EXPECT_TRUE(torch::equal(seg, labels.slice(1, 2, 6).slice(2, 2, 6).slice(3, 2, 6)));
}

TEST(SpatialTransform, RotationByNinetyDegreesMovesAnOffCentreCube) {
  // Sampled 11^3, patch 9^3: the crop happens in the same resampling.
  const auto [image, labels] = volume(11, {4, 1, 6}, {7, 4, 9});
  SpatialParams p;
  p.angles = {M_PI / 2, 0.0, 0.0};  // about axis 0: the (y, x) plane turns
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {9, 9, 9}, false);
  // Output (z, y, x) reads input (z + 1, 9 - x, y + 1): offsets from the centres 4 and 5,
  // rotated by R = [[1, 0, 0], [0, 0, -1], [0, 1, 0]] (batchgeneratorsv2 0.3: input = R c).
  at::Tensor expected_image = torch::empty({1, 9, 9, 9});
  at::Tensor expected_seg = torch::empty({1, 9, 9, 9}, torch::kShort);
  for (int z = 0; z < 9; ++z)
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 9; ++x) {
        expected_image[0][z][y][x] = image[0][z + 1][9 - x][y + 1];
        expected_seg[0][z][y][x] = labels[0][z + 1][9 - x][y + 1];
      }
  EXPECT_TRUE(torch::allclose(out, expected_image, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(seg, expected_seg));
  // The cube z [4, 7), y [1, 4), x [6, 9) lands at z [3, 6), y [5, 8), x [6, 9).
  const at::Tensor where = torch::nonzero(seg[0] == 1);
  EXPECT_EQ(where.size(0), 27);
  EXPECT_EQ(testing::values(std::get<0>(where.min(0))), (std::vector<int64_t>{3, 5, 6}));
  EXPECT_EQ(testing::values(std::get<0>(where.max(0))), (std::vector<int64_t>{5, 7, 8}));
}

TEST(SpatialTransform, ScalingByTwoReadsEveryOtherVoxelAboutTheCentre) {
  const auto [image, labels] = volume(17, {0, 0, 0}, {4, 4, 4});
  SpatialParams p;
  p.scale = 2.0;
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {9, 9, 9}, false);
  // Offset c from the centre 4 reads 2c from the centre 8: voxel p reads 2p.
  const at::Tensor every_other = image.slice(1, 0, 17, 2).slice(2, 0, 17, 2).slice(3, 0, 17, 2);
  EXPECT_TRUE(torch::allclose(out, every_other, 1e-5, 1e-5));
  EXPECT_EQ((seg == 1).sum().item<int64_t>(), 8);  // the 4^3 cube shrinks to 2^3
  EXPECT_EQ(seg[0][1][1][1].item<int>(), 1);
  EXPECT_EQ(seg[0][2][1][1].item<int>(), 0);
}

TEST(SpatialTransform, ReadsZeroAndMinusOneOutsideTheSampledRegion) {
  const auto [image, labels] = volume(9, {0, 0, 0}, {1, 1, 1});
  SpatialParams p;
  p.scale = 2.0;
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {9, 9, 9}, false);
  // Voxel p reads 2p - 4: p = 0 reads -4 (outside), p = 2 reads 0.
  EXPECT_EQ(out[0][0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(seg[0][0][0][0].item<int>(), -1);
  EXPECT_NEAR(out[0][2][2][2].item<float>(), image[0][0][0][0].item<float>(), 1e-5);
  EXPECT_EQ(seg[0][2][2][2].item<int>(), 1);
  EXPECT_EQ(seg[0][6][6][6].item<int>(), 0);  // reads 8, the last voxel
  EXPECT_EQ(seg[0][7][7][7].item<int>(), -1);
}

TEST(SpatialTransform, InPlaneModeNeverTouchesTheFirstAxis) {
  SpatialParams p;
  p.angles = {0.3, 0.0, 0.0};
  p.scale = 1.3;
  const auto m = spatial_matrix(p, 3, /*in_plane_only=*/true);
  EXPECT_DOUBLE_EQ(m[0], 1.0);
  EXPECT_DOUBLE_EQ(m[1], 0.0);
  EXPECT_DOUBLE_EQ(m[2], 0.0);
  EXPECT_NEAR(m[4], 1.3 * std::cos(0.3), 1e-12);
  EXPECT_NEAR(m[5], -1.3 * std::sin(0.3), 1e-12);
  const auto full = spatial_matrix(p, 3, false);
  EXPECT_DOUBLE_EQ(full[0], 1.3);
}

TEST(SpatialTransform, RotatesTwoDimensionalPatches) {
  torch::manual_seed(1);
  const at::Tensor image = torch::rand({2, 7, 7});
  const at::Tensor labels = torch::randint(0, 3, {1, 7, 7}, torch::kShort);
  SpatialParams p;
  p.angles = {M_PI / 2};
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {7, 7}, false);
  // R = [[0, -1], [1, 0]]: output (y, x) reads input (6 - x, y), i.e. a transpose of the
  // input mirrored along y.
  EXPECT_TRUE(torch::allclose(out, image.flip({1}).transpose(1, 2), 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(seg, labels.flip({1}).transpose(1, 2)));
}

TEST(SpatialTransform, ElasticDeformationWithoutMagnitudeIsTheIdentity) {
  const auto [image, labels] = volume(10, {2, 2, 2}, {5, 5, 5});
  SpatialParams p;
  p.elastic = true;
  p.elastic_sigma = 2.0;
  p.elastic_alpha = 0.0;
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {6, 6, 6}, false);
  EXPECT_TRUE(torch::allclose(out, image.slice(1, 2, 8).slice(2, 2, 8).slice(3, 2, 8), 1e-5, 1e-5));
  p.elastic_alpha = 50.0;
  p.elastic_seed = 4;
  const auto [warped, warped_seg] = spatial_transform_sample(image, labels, p, {6, 6, 6}, false);
  EXPECT_FALSE(torch::allclose(warped, out, 1e-3, 1e-3));
  EXPECT_TRUE(((warped_seg >= -1) & (warped_seg <= 1)).all().item<bool>());
}

TEST(SpatialTransform, BatchDrawsPerSampleAndReturnsThePatchSize) {
  at::Tensor data = torch::rand({3, 2, 12, 12, 12});
  at::Tensor seg = torch::zeros({3, 1, 12, 12, 12}, torch::kShort);
  SpatialTransformOptions o;
  o.p_rotation = o.p_scaling = 1.0;
  o.rotation = {{-0.5, 0.5}, {-0.5, 0.5}, {-0.5, 0.5}};
  std::vector<Rng> rngs{Rng(1), Rng(2), Rng(3)};
  spatial_transform(data, seg, o, {8, 8, 8}, rngs);
  EXPECT_EQ(data.sizes(), (std::vector<int64_t>{3, 2, 8, 8, 8}));
  EXPECT_EQ(seg.sizes(), (std::vector<int64_t>{3, 1, 8, 8, 8}));
  EXPECT_EQ(seg.scalar_type(), torch::kShort);
  Rng rng(7);
  const SpatialParams drawn = draw_spatial_params(o, rng);
  ASSERT_EQ(drawn.angles.size(), 3u);
  for (const double a : drawn.angles) EXPECT_LE(std::abs(a), 0.5);
  EXPECT_GE(drawn.scale, 0.7);
  EXPECT_LT(drawn.scale, 1.4);
}

TEST(SpatialTransform, ComposesRotationsAndScaleAsBatchgeneratorsV2) {
  // create_affine_matrix_3d((0.3, -0.2, 0.5), (1.2,) * 3) = Rz Ry Rx S, and batchgeneratorsv2
  // 0.3 maps an output offset c to the input offset (Rz Ry Rx S) c (0.2 used the transpose).
  // Values computed from the reference's formula.
  SpatialParams p;
  p.angles = {0.3, -0.2, 0.5};
  p.scale = 1.2;
  const std::vector<double> expected{1.032107205846, -0.611443543930, -0.029858135020,
                                     0.563842736339, 0.972287023044,  -0.420403750574,
                                     0.238403196954, 0.347555373151,  1.123552036301};
  const auto m = spatial_matrix(p, 3, false);
  ASSERT_EQ(m.size(), 9u);
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(m[i], expected[i], 1e-9) << i;
}

TEST(SpatialTransform, LabelsAreReadLinearlyOneMaskPerValueAndTheHighestWins) {
  // 2D, sampled 5x5, patch 3x3, scale 1.6: output voxel (0, 0) reads input (0.4, 0.4), whose
  // bilinear weights are 0.36 on (0, 0), 0.24 on (0, 1) and (1, 0), 0.16 on (1, 1).
  at::Tensor labels = torch::zeros({1, 5, 5}, torch::kShort);
  labels[0][0][0] = 1;
  labels[0][0][1] = 2;
  labels[0][1][0] = 2;
  const at::Tensor image = torch::zeros({1, 5, 5});
  SpatialParams p;
  p.scale = 1.6;
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {3, 3}, false);
  // Label 2 reads 0.48, label 1 0.36, label 0 0.16: 2 wins (nearest would have read 1).
  EXPECT_EQ(seg[0][0][0].item<int>(), 2);
  EXPECT_EQ(seg[0][1][1].item<int>(), 0);  // the centre reads (2, 2)
  // A tie goes to the nearest neighbour's value when it is one of the tied: three labels and
  // "no data" at 0.25 each on (1.5, 1.5), whose nearest voxel (rounding halves to even) is
  // (2, 2).
  at::Tensor quarter = torch::full({1, 4, 4}, -1, torch::kShort);
  quarter[0][1][2] = 1;
  quarter[0][2][1] = 2;
  quarter[0][2][2] = 3;
  const auto [out4, seg4] =
      spatial_transform_sample(torch::zeros({1, 4, 4}), quarter, p, {1, 1}, false);
  EXPECT_EQ(seg4[0][0][0].item<int>(), 3);
  // Else to the lowest tied value: on (0.5, 0.5, 0.5) every voxel of a 2^3 block weighs 1/8;
  // the nearest, (0, 0, 0), holds 5 alone, values 1 and 2 hold three voxels each.
  at::Tensor block = torch::zeros({1, 2, 2, 2}, torch::kShort);
  block[0][0][0][0] = 5;
  block[0][0][0][1] = block[0][0][1][0] = block[0][0][1][1] = 2;
  block[0][1][0][0] = block[0][1][0][1] = block[0][1][1][0] = 1;
  const auto [out8, seg8] =
      spatial_transform_sample(torch::zeros({1, 2, 2, 2}), block, p, {1, 1, 1}, false);
  EXPECT_EQ(seg8[0][0][0][0].item<int>(), 1);
}

TEST(SpatialTransform, NoDataWinsAtTheBorderOnlyWhereItDominates) {
  // 1 x 4 sampled, patch 1 x 3, scale 1.4 along the row: output x = 0 reads x = 1.5 - 1.4 = 0.1
  // (0.9 on voxel 0, no data 0), and with scale 2.1: x = -0.6 (0.4 on voxel 0, 0.6 outside).
  const at::Tensor labels = torch::ones({1, 1, 4}, torch::kShort);
  const at::Tensor image = torch::zeros({1, 1, 4});
  SpatialParams p;
  p.scale = 1.4;
  EXPECT_EQ(
      std::get<1>(spatial_transform_sample(image, labels, p, {1, 3}, false))[0][0][0].item<int>(),
      1);
  p.scale = 2.1;
  const at::Tensor far = std::get<1>(spatial_transform_sample(image, labels, p, {1, 3}, false));
  EXPECT_EQ(far[0][0][0].item<int>(), -1);
  EXPECT_EQ(far[0][0][1].item<int>(), 1);
  p.scale = 1.8;  // x = -0.3: 0.7 on voxel 0 keeps the label up to the border
  EXPECT_EQ(
      std::get<1>(spatial_transform_sample(image, labels, p, {1, 3}, false))[0][0][0].item<int>(),
      1);
}

TEST(SpatialTransform, ScaleIsUniformInTheRangeOneFactorForAllAxes) {
  // The reference draws U(0.7, 1.4): 3/7 of the draws below 1 (the old factor_around_one rule
  // put half below 1). 4000 draws: the share below 1 is 3/7 +- 0.03.
  SpatialTransformOptions o;
  o.p_rotation = 0.0;
  o.p_scaling = 1.0;
  Rng rng(11);
  int below = 0;
  double lo = 2.0, hi = 0.0;
  for (int i = 0; i < 4000; ++i) {
    const double s = draw_spatial_params(o, rng).scale;
    below += s < 1.0;
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  EXPECT_NEAR(below / 4000.0, 3.0 / 7.0, 0.03);
  EXPECT_GE(lo, 0.7);
  EXPECT_LT(lo, 0.71);
  EXPECT_LT(hi, 1.4);
  EXPECT_GT(hi, 1.39);
}

TEST(SpatialTransform, InitialPatchSizeMatchesTheReference) {
  const double deg30 = M_PI / 6, deg180 = M_PI, deg15 = M_PI / 12;
  // Values of nnU-Net's get_patch_size with scale range (0.85, 1.25).
  EXPECT_EQ(initial_patch_size({40, 56, 40}, {{-deg30, deg30}, {-deg30, deg30}, {-deg30, deg30}},
                               {0.85, 1.25}, false),
            (std::vector<int64_t>{73, 80, 64}));
  EXPECT_EQ(
      initial_patch_size({20, 192, 160}, {{-deg180, deg180}, {0, 0}, {0, 0}}, {0.85, 1.25}, true),
      (std::vector<int64_t>{20, 225, 225}));
  EXPECT_EQ(initial_patch_size({56, 40}, {{-deg180, deg180}}, {0.85, 1.25}, false),
            (std::vector<int64_t>{65, 65}));
  EXPECT_EQ(initial_patch_size({40, 96}, {{-deg15, deg15}}, {0.85, 1.25}, false),
            (std::vector<int64_t>{74, 112}));
}

}  // namespace
}  // namespace medseg
