#include "medseg/data/spatial_transform.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "unit/data/synthetic_cases.h"

namespace medseg {
namespace {

// A (1, n, n, n) image of random values and labels 0 with a box of 1 in [lo, hi).
std::pair<at::Tensor, at::Tensor> volume(int64_t n, std::vector<int64_t> lo, std::vector<int64_t> hi) {
  torch::manual_seed(0);
  at::Tensor image = torch::rand({1, n, n, n});
  at::Tensor labels = torch::zeros({1, n, n, n}, torch::kShort);
  labels[0].slice(0, lo[0], hi[0]).slice(1, lo[1], hi[1]).slice(2, lo[2], hi[2]).fill_(1);
  return {image, labels};
}

TEST(SpatialTransform, WithoutChangesCropsTheCentreExactly) {
  const auto [image, labels] = volume(8, {1, 1, 1}, {3, 3, 3});
  const auto [out, seg] = spatial_transform_sample(image, labels, SpatialParams{}, {4, 4, 4}, false);
  EXPECT_TRUE(torch::equal(out, image.slice(1, 2, 6).slice(2, 2, 6).slice(3, 2, 6)));
  EXPECT_TRUE(torch::equal(seg, labels.slice(1, 2, 6).slice(2, 2, 6).slice(3, 2, 6)));
}

TEST(SpatialTransform, RotationByNinetyDegreesMovesAnOffCentreCube) {
  // Sampled 11^3, patch 9^3: the crop happens in the same resampling.
  const auto [image, labels] = volume(11, {4, 1, 6}, {7, 4, 9});
  SpatialParams p;
  p.angles = {M_PI / 2, 0.0, 0.0};  // about axis 0: the (y, x) plane turns
  const auto [out, seg] = spatial_transform_sample(image, labels, p, {9, 9, 9}, false);
  // Output (z, y, x) reads input (z + 1, x + 1, 9 - y): offsets from the centres 4 and 5,
  // rotated by R^T = [[1, 0, 0], [0, 0, 1], [0, -1, 0]].
  at::Tensor expected_image = torch::empty({1, 9, 9, 9});
  at::Tensor expected_seg = torch::empty({1, 9, 9, 9}, torch::kShort);
  for (int z = 0; z < 9; ++z)
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 9; ++x) {
        expected_image[0][z][y][x] = image[0][z + 1][x + 1][9 - y];
        expected_seg[0][z][y][x] = labels[0][z + 1][x + 1][9 - y];
      }
  EXPECT_TRUE(torch::allclose(out, expected_image, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(seg, expected_seg));
  // The cube z [4, 7), y [1, 4), x [6, 9) lands at z [3, 6), y [1, 4), x [0, 3).
  const at::Tensor where = torch::nonzero(seg[0] == 1);
  EXPECT_EQ(where.size(0), 27);
  EXPECT_EQ(testing::values(std::get<0>(where.min(0))), (std::vector<int64_t>{3, 1, 0}));
  EXPECT_EQ(testing::values(std::get<0>(where.max(0))), (std::vector<int64_t>{5, 3, 2}));
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
  EXPECT_NEAR(m[5], 1.3 * std::sin(0.3), 1e-12);
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
  // R^T = [[0, 1], [-1, 0]]: output (y, x) reads input (x, 6 - y), i.e. a transpose of the
  // input mirrored along x.
  EXPECT_TRUE(torch::allclose(out, image.flip({2}).transpose(1, 2), 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(seg, labels.flip({2}).transpose(1, 2)));
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

TEST(SpatialTransform, InitialPatchSizeMatchesTheReference) {
  const double deg30 = M_PI / 6, deg180 = M_PI, deg15 = M_PI / 12;
  // Values of nnU-Net's get_patch_size with scale range (0.85, 1.25).
  EXPECT_EQ(initial_patch_size({40, 56, 40}, {{-deg30, deg30}, {-deg30, deg30}, {-deg30, deg30}},
                               {0.85, 1.25}, false),
            (std::vector<int64_t>{73, 80, 64}));
  EXPECT_EQ(initial_patch_size({20, 192, 160}, {{-deg180, deg180}, {0, 0}, {0, 0}}, {0.85, 1.25},
                               true),
            (std::vector<int64_t>{20, 225, 225}));
  EXPECT_EQ(initial_patch_size({56, 40}, {{-deg180, deg180}}, {0.85, 1.25}, false),
            (std::vector<int64_t>{65, 65}));
  EXPECT_EQ(initial_patch_size({40, 96}, {{-deg15, deg15}}, {0.85, 1.25}, false),
            (std::vector<int64_t>{74, 112}));
}

}  // namespace
}  // namespace medseg
