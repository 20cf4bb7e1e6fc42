#include "medseg/infer/gaussian_importance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/core/error.h"

namespace medseg {
namespace {

TEST(GaussianImportance, OneAxisFollowsTheGaussianWithSigmaPatchOverEight) {
  // Patch 8: sigma 1, centre index 4.
  const at::Tensor g = gaussian_importance_map({8});
  ASSERT_EQ(g.scalar_type(), torch::kFloat);
  ASSERT_EQ(g.numel(), 8);
  for (int64_t i = 0; i < 8; ++i) {
    const double d = static_cast<double>(i - 4);
    EXPECT_NEAR(g[i].item<float>(), std::exp(-d * d / 2.0), 1e-7) << "index " << i;
  }
  EXPECT_FLOAT_EQ(g[4].item<float>(), 1.0f);
}

TEST(GaussianImportance, ThreeAxesAreTheProductOfTheAxisProfiles) {
  // Patch (4, 6, 8): sigmas 0.5, 0.75, 1; centre (2, 3, 4).
  const at::Tensor g = gaussian_importance_map({4, 6, 8});
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{4, 6, 8}));
  EXPECT_FLOAT_EQ(g[2][3][4].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g.max().item<float>(), 1.0f);
  EXPECT_NEAR(g[3][3][4].item<float>(), std::exp(-1.0 / (2 * 0.25)), 1e-7);       // exp(-2)
  EXPECT_NEAR(g[2][4][4].item<float>(), std::exp(-1.0 / (2 * 0.5625)), 1e-7);     // sigma 0.75
  EXPECT_NEAR(g[2][3][6].item<float>(), std::exp(-2.0), 1e-7);                    // d 2, sigma 1
  EXPECT_NEAR(g[3][4][5].item<float>(), std::exp(-2.0 - 1.0 / 1.125 - 0.5), 1e-7);
  EXPECT_GT(g.min().item<float>(), 0.0f);
}

TEST(GaussianImportance, HippocampusPatchHasNoZeros) {
  const at::Tensor g = gaussian_importance_map({40, 56, 40});
  EXPECT_FLOAT_EQ(g[20][28][20].item<float>(), 1.0f);
  // Corner: offsets (-20, -28, -20) with sigmas (5, 7, 5): exp(-8 - 8 - 8).
  EXPECT_NEAR(g[0][0][0].item<float>() / std::exp(-24.0), 1.0, 1e-5);
  EXPECT_GT(g.min().item<float>(), 0.0f);
}

TEST(GaussianImportance, ZerosBeyondTheKernelGetTheSmallestNonzeroValue) {
  // sigma_scale 1/32 on 16 voxels: sigma 0.5, kernel radius int(2.5) = 2 around index 8;
  // indices 0-5 and 11-15 lie beyond it and take the smallest value inside, exp(-8).
  const at::Tensor g = gaussian_importance_map({16}, 1.0 / 32.0);
  const float smallest = static_cast<float>(std::exp(-8.0));
  EXPECT_FLOAT_EQ(g[6].item<float>(), smallest);
  EXPECT_FLOAT_EQ(g[10].item<float>(), smallest);
  EXPECT_FLOAT_EQ(g[0].item<float>(), smallest);
  EXPECT_FLOAT_EQ(g[15].item<float>(), smallest);
  EXPECT_NEAR(g[7].item<float>(), std::exp(-2.0), 1e-7);
}

TEST(GaussianImportance, RejectsAnEmptyPatch) {
  EXPECT_THROW(gaussian_importance_map({}), Error);
  EXPECT_THROW(gaussian_importance_map({4, 0}), Error);
}

}  // namespace
}  // namespace medseg
