#include "medseg/preprocess/resample_axis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::vector<float> float_values(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// The signal used for the reference values below.
at::Tensor spiky() {
  return torch::tensor(std::vector<float>{0, 0, 1, 0, 0, 3, 2});
}

TEST(SourceCoordinate, MapsVoxelCentres) {
  EXPECT_DOUBLE_EQ(source_coordinate(0, 4, 8), -0.25);
  EXPECT_DOUBLE_EQ(source_coordinate(7, 4, 8), 3.25);
  EXPECT_DOUBLE_EQ(source_coordinate(0, 8, 4), 0.5);
  EXPECT_DOUBLE_EQ(source_coordinate(3, 5, 5), 3.0);
}

TEST(NearestSourceIndices, RoundHalfUpAndClamp) {
  EXPECT_EQ(nearest_source_indices(8, 4), (std::vector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(nearest_source_indices(2, 4), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(nearest_source_indices(3, 6), (std::vector<int64_t>{0, 0, 1, 1, 2, 2}));
}

TEST(ResampleAxis, NearestMatchesTheReference) {
  // skimage.transform.resize(order=0, mode='edge') of the same signal.
  EXPECT_THAT(float_values(resample_axis(spiky(), 0, 11, 0)),
              ElementsAre(0, 0, 0, 1, 1, 0, 0, 0, 3, 2, 2));
  EXPECT_THAT(float_values(resample_axis(spiky(), 0, 4, 0)), ElementsAre(0, 1, 0, 2));
}

TEST(ResampleAxis, NearestKeepsIntegerTypes) {
  const at::Tensor labels = torch::tensor(std::vector<int16_t>{-1, 0, 2}, torch::kShort);
  const at::Tensor out = resample_axis(labels, 0, 6, 0);
  EXPECT_EQ(out.scalar_type(), torch::kShort);
  EXPECT_EQ(out[0].item<int>(), -1);
  EXPECT_EQ(out[5].item<int>(), 2);
}

TEST(ResampleAxis, LinearReproducesARampAndClampsAtTheEdges) {
  // f(i) = 2 i + 1 on 6 voxels, to 9: interior samples lie exactly on the line; samples before
  // the first (after the last) voxel centre take the edge value.
  const at::Tensor ramp = torch::arange(6, torch::kFloat) * 2 + 1;
  const std::vector<float> out = float_values(resample_axis(ramp, 0, 9, 1));
  for (int64_t o = 0; o < 9; ++o) {
    const double cc = std::clamp(source_coordinate(o, 6, 9), 0.0, 5.0);
    EXPECT_FLOAT_EQ(out[o], static_cast<float>(2 * cc + 1)) << "o = " << o;
  }
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[8], 11.0f);
}

TEST(ResampleAxis, CubicMatchesTheReference) {
  // scipy.ndimage.zoom(order=3, mode='nearest', grid_mode=True) via skimage's resize
  // (clip=False), scikit-image 0.19.3 / SciPy 1.10.1.
  const std::vector<float> up{0.02639955f,  -0.113784002f, 0.0795729342f, 0.837301011f,
                              0.835733179f, 0.0f,          -0.451160675f, 0.812173524f,
                              2.85638491f,  2.72096062f,   1.85451611f};
  const std::vector<float> down{-0.0971345233f, 0.989846786f, -0.237470808f, 2.58802791f};
  const std::vector<float> out_up = float_values(resample_axis(spiky(), 0, 11, 3));
  const std::vector<float> out_down = float_values(resample_axis(spiky(), 0, 4, 3));
  for (size_t i = 0; i < up.size(); ++i) EXPECT_NEAR(out_up[i], up[i], 1e-6) << i;
  for (size_t i = 0; i < down.size(); ++i) EXPECT_NEAR(out_down[i], down[i], 1e-6) << i;
}

TEST(ResampleAxis, CubicFollowsASmoothFunction) {
  const at::Tensor x = torch::sin(0.2 * torch::arange(40, torch::kFloat));
  const std::vector<float> out = float_values(resample_axis(x, 0, 97, 3));
  double worst = 0;
  for (int64_t o = 10; o < 87; ++o)
    worst = std::max(worst, std::abs(out[o] - std::sin(0.2 * source_coordinate(o, 40, 97))));
  EXPECT_LT(worst, 2e-4);  // the reference's own interpolation error here is 1.06e-4
}

TEST(ResampleAxis, CubicReproducesCubicPolynomialsAwayFromTheEdges) {
  // B-spline interpolation is exact for polynomials up to degree 3; the edge extension's effect
  // decays by |z| = 0.268 per voxel.
  at::Tensor i = torch::arange(60, torch::kDouble);
  const at::Tensor poly = (0.001 * i * i * i - 0.05 * i * i + 0.3 * i + 2).to(torch::kFloat);
  const std::vector<float> out = float_values(resample_axis(poly, 0, 90, 3));
  for (int64_t o = 20; o < 70; ++o) {
    const double c = source_coordinate(o, 60, 90);
    EXPECT_NEAR(out[o], 0.001 * c * c * c - 0.05 * c * c + 0.3 * c + 2, 1e-4) << o;
  }
}

TEST(ResampleAxis, SameSizeIsTheIdentity) {
  const at::Tensor x = torch::rand({3, 4, 5});
  EXPECT_TRUE(torch::equal(resample_axis(x, 1, 4, 3), x));
  EXPECT_TRUE(torch::allclose(resample_axis(x, 1, 4, 1), x));
}

TEST(ResampleAxis, EveryAxisAgreesWithTheOneDimensionalPass) {
  // Lanes run over inner offsets (axes 0, 1) or over lines (last axis); 21 > 16 lanes tests the
  // partial chunk.
  torch::manual_seed(3);
  const at::Tensor x = torch::rand({5, 6, 21});
  for (int order : {1, 3}) {
    const at::Tensor a0 = resample_axis(x, 0, 9, order);
    const at::Tensor a1 = resample_axis(x, 1, 4, order);
    const at::Tensor a2 = resample_axis(x, 2, 30, order);
    EXPECT_TRUE(
        torch::allclose(a0.select(2, 17).select(1, 2),
                        resample_axis(x.select(2, 17).select(1, 2).contiguous(), 0, 9, order)));
    EXPECT_TRUE(
        torch::allclose(a1.select(2, 20).select(0, 4),
                        resample_axis(x.select(2, 20).select(0, 4).contiguous(), 0, 4, order)));
    EXPECT_TRUE(torch::allclose(a2[3][5], resample_axis(x[3][5].contiguous(), 0, 30, order)));
  }
}

TEST(ResampleAxis, ThreadsDoNotChangeTheResult) {
  torch::manual_seed(4);
  const at::Tensor x = torch::rand({7, 33, 18});
  for (int64_t axis = 0; axis < 3; ++axis)
    EXPECT_TRUE(torch::equal(resample_axis(x, axis, 11, 3, 1), resample_axis(x, axis, 11, 3, 3)));
}

TEST(ResampleAxis, LabelMaskPassEqualsResamplingTheMaskInDoublePrecision) {
  const at::Tensor labels =
      torch::tensor(std::vector<int16_t>{0, 2, 2, 1, 2, 0}, torch::kShort).reshape({2, 3});
  const at::Tensor direct = resample_label_mask_axis(labels, 2, 1, 5, 1);
  EXPECT_EQ(direct.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(direct, resample_axis(labels.eq(2).to(torch::kDouble), 1, 5, 1)));
  // 3 -> 5: coordinates -0.2, 0.4, 1, 1.6, 2.2 over the mask (0, 1, 1).
  EXPECT_TRUE(torch::allclose(direct[0], torch::tensor({0.0, 0.4, 1.0, 1.0, 1.0}, torch::kDouble)));
}

TEST(ResampleAxis, DoubleVolumesStayDouble) {
  const at::Tensor x = torch::tensor({0.0, 1.0}, torch::kDouble);
  const at::Tensor out = resample_axis(x, 0, 4, 1);
  EXPECT_EQ(out.scalar_type(), torch::kDouble);
  EXPECT_DOUBLE_EQ(out[1].item<double>(), 0.25);
}

TEST(ResampleAxis, RejectsUnsupportedRequests) {
  const at::Tensor x = torch::zeros({4});
  try {
    resample_axis(x, 0, 8, 2);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("interpolation order 2 is not supported"));
  }
  EXPECT_THROW(resample_axis(x, 1, 8, 1), Error);
  EXPECT_THROW(resample_axis(x, 0, 0, 1), Error);
  EXPECT_THROW(resample_axis(torch::zeros({4}, torch::kShort), 0, 8, 1), Error);
}

}  // namespace
}  // namespace medseg
