#include "medseg/infer/sliding_window.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/infer/gaussian_importance.h"
#include "medseg/infer/mirroring.h"
#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

SlidingWindowOptions window(std::vector<int64_t> patch, bool mirroring = true, int64_t batch = 1) {
  SlidingWindowOptions o;
  o.patch_size = std::move(patch);
  o.mirroring = mirroring;
  o.tile_batch = batch;
  return o;
}

// Logits (batch, 2, spatial...) = (x, 2x) of channel 0.
at::Tensor per_voxel(const at::Tensor& x) {
  const at::Tensor c = x.narrow(1, 0, 1);
  return torch::cat({c, 2 * c}, 1);
}

TEST(SlidingWindow, PerVoxelFunctionComesBackExactlyThroughTilesPaddingAndMirroring) {
  // (z, y, x) = (13, 5, 9) with patch (8, 8, 8): tiles along z and x, padding along y.
  const at::Tensor data = torch::rand({1, 13, 5, 9});
  const at::Tensor logits = predict_sliding_window(data, {per_voxel}, window({8, 8, 8}));
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 13, 5, 9}));
  EXPECT_TRUE(torch::allclose(logits[0], data[0], 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(logits[1], 2 * data[0], 1e-6, 1e-6));
}

TEST(SlidingWindow, FoldsAreAveraged) {
  const at::Tensor data = torch::rand({1, 9, 9, 9});
  const LogitsFunction doubled = [](const at::Tensor& x) { return 3 * per_voxel(x); };
  const at::Tensor logits =
      predict_sliding_window(data, {per_voxel, doubled}, window({8, 8, 8}, false));
  EXPECT_TRUE(torch::allclose(logits[0], 2 * data[0], 1e-5, 1e-6));  // (1 + 3) / 2
}

TEST(SlidingWindow, OverlapsAreWeightedWithTheGaussian) {
  // Volume 6 and patch 4 along x at step 0.5: tiles at 0 and 2. The first tile predicts 1, the
  // second 3. Gaussian along x (sigma 0.5, centre 2): exp(-8), exp(-2), 1, exp(-2); axes of
  // size 1 weigh 1.
  int calls = 0;
  const LogitsFunction tile_number = [&](const at::Tensor& x) {
    ++calls;
    return torch::full({x.size(0), 1, 1, 1, 4}, calls == 1 ? 1.0f : 3.0f);
  };
  const at::Tensor logits =
      predict_sliding_window(torch::zeros({1, 1, 1, 6}), {tile_number}, window({1, 1, 4}, false));
  ASSERT_EQ(calls, 2);
  const double e8 = std::exp(-8.0);
  const std::vector<double> expected{1, 1, (1 + 3 * e8) / (1 + e8), 2, 3, 3};
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_NEAR(logits[0][0][0][i].item<float>(), expected[i], 1e-6) << i;
}

TEST(SlidingWindow, MirroringAveragesAPositionDependentModel) {
  // Logits = the tile's x index; one tile covers the volume. Mirrored over x the average is 3.5.
  const LogitsFunction ramp = [](const at::Tensor& x) {
    return torch::arange(x.size(4), torch::kFloat)
        .expand({x.size(0), 1, x.size(2), x.size(3), x.size(4)})
        .clone();
  };
  const at::Tensor data = torch::zeros({1, 8, 8, 8});
  EXPECT_TRUE(torch::allclose(predict_sliding_window(data, {ramp}, window({8, 8, 8}, true)),
                              torch::full({1, 8, 8, 8}, 3.5f)));
  EXPECT_TRUE(
      torch::allclose(predict_sliding_window(data, {ramp}, window({8, 8, 8}, false))[0][3][2],
                      torch::arange(8, torch::kFloat)));
}

TEST(SlidingWindow, TwoDimensionalPatchesRunSliceBySlice) {
  std::vector<int64_t> seen_dims;
  const LogitsFunction net2d = [&](const at::Tensor& x) {
    seen_dims.push_back(x.dim());
    return per_voxel(x);
  };
  const at::Tensor data = torch::rand({1, 3, 10, 7});
  SlidingWindowOptions one_by_one = window({8, 8}, true, 4);
  one_by_one.mirror_group = 1;
  const at::Tensor logits = predict_sliding_window(data, {net2d}, one_by_one);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3, 10, 7}));
  EXPECT_TRUE(torch::allclose(logits[1], 2 * data[0], 1e-6, 1e-6));
  // 3 slices x 2 y-steps = 6 tiles in batches of 4 (2 calls), 4 mirrorings each.
  EXPECT_EQ(seen_dims.size(), 2u * 4u);
  for (int64_t d : seen_dims) EXPECT_EQ(d, 4);
  // Automatic grouping: the 4 mirrored copies of each small tile batch go two per call.
  seen_dims.clear();
  EXPECT_TRUE(torch::allclose(predict_sliding_window(data, {net2d}, window({8, 8}, true, 4)),
                              logits, 1e-6, 1e-6));
  EXPECT_EQ(seen_dims.size(), 2u * 4u / static_cast<size_t>(kMirrorGroupMax));
}

TEST(SlidingWindow, TileBatchDoesNotChangeTheResult) {
  int calls = 0;
  const LogitsFunction smooth = [&](const at::Tensor& x) {
    ++calls;
    return torch::avg_pool3d(x, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  };
  const at::Tensor data = torch::rand({1, 12, 12, 12});
  const at::Tensor one = predict_sliding_window(data, {smooth}, window({8, 8, 8}, false, 1));
  EXPECT_EQ(calls, 8);  // 2 x 2 x 2 tiles
  calls = 0;
  const at::Tensor three = predict_sliding_window(data, {smooth}, window({8, 8, 8}, false, 3));
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(torch::allclose(one, three, 1e-6, 1e-6));
}

TEST(SlidingWindow, RejectsBadInput) {
  try {
    predict_sliding_window(torch::zeros({9, 9, 9}), {per_voxel}, window({8, 8, 8}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("(channels, z, y, x)"));
  }
  try {
    predict_sliding_window(torch::zeros({1, 9, 9, 9}), {}, window({8, 8, 8}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no network"));
  }
}

// Accumulation::kFloat16 against the reference's arithmetic worked out voxel by voxel with
// c10::Half: tiles at x = 0 and 4 of a 12-voxel row (patch 8), two networks (a fold ensemble).
TEST(SlidingWindow, Float16AccumulationIsTheReferencesArithmetic) {
  const int64_t width = 12, patch = 8;
  const at::Tensor data =
      (torch::arange(width, torch::kFloat) * 0.731f + 0.113f).reshape({1, 1, 1, width});
  const std::vector<LogitsFunction> networks = {
      [](const at::Tensor& x) {
        return torch::cat({x, 0.37f * x + 1.3f}, 1);
      },
      [](const at::Tensor& x) {
        return torch::cat({-0.5f * x + 2.9f, x * x * 0.11f}, 1);
      }};
  SlidingWindowOptions o = window({1, 1, patch}, /*mirroring=*/false);
  o.accumulation = Accumulation::kFloat16;
  const at::Tensor logits = predict_sliding_window(data, networks, o);

  // compute_gaussian: the smoothed impulse (sigma 1, centre 4) divided by (max / 10), in float16.
  std::vector<c10::Half> g(patch);
  for (int64_t i = 0; i < patch; ++i)
    g[i] = c10::Half(static_cast<float>(std::exp(-0.5 * double((i - 4) * (i - 4))) / (1.0 / 10)));
  const auto logit = [&](size_t n, int64_t c, float x) {
    return networks[n](torch::full({1, 1, 1, 1, 1}, x))[0][c].item<float>();
  };
  std::vector<c10::Half> total(2 * width, c10::Half(0.0f));
  for (size_t n = 0; n < networks.size(); ++n) {
    std::vector<c10::Half> sum(2 * width, c10::Half(0.0f)), weight(width, c10::Half(0.0f));
    for (const int64_t start : {0, 4})
      for (int64_t i = 0; i < patch; ++i) {
        const int64_t x = start + i;
        for (int64_t c = 0; c < 2; ++c) {
          const float weighted = logit(n, c, data[0][0][0][x].item<float>()) * float(g[i]);
          sum[c * width + x] = c10::Half(float(sum[c * width + x]) + weighted);
        }
        weight[x] = c10::Half(float(weight[x]) + float(g[i]));
      }
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t x = 0; x < width; ++x) {
        const c10::Half mean(float(sum[c * width + x]) / float(weight[x]));
        total[c * width + x] = c10::Half(float(total[c * width + x]) + float(mean));
      }
  }
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t x = 0; x < width; ++x)
      EXPECT_EQ(logits[c][0][0][x].item<float>(),
                float(c10::Half(float(total[c * width + x]) / 2.0f)))
          << "class " << c << ", x " << x;

  // float32 sums give the weighted mean to float32 precision; float16 ones move it by up to
  // float16's rounding of values near 10.
  o.accumulation = Accumulation::kFloat32;
  const at::Tensor exact = predict_sliding_window(data, networks, o);
  const double moved = (logits - exact).abs().max().item<double>();
  EXPECT_GT(moved, 1e-4);
  EXPECT_LT(moved, 2e-2);
}

TEST(SlidingWindow, Float16MapUnderflowsAtTheCornersAsTheReferences) {
  const at::Tensor map = gaussian_importance_map_float16({8, 8, 8});
  EXPECT_EQ(map.scalar_type(), torch::kHalf);
  EXPECT_EQ(map[4][4][4].item<float>(), 10.0f);
  // The corner's 10 * exp(-8)^3 = 1.1e-9 is below float16's smallest subnormal (6e-8): 0, then
  // the smallest nonzero value of the map.
  const at::Tensor nonzero_corner_neighbour = map[0][0][1];
  EXPECT_GT(map[0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(map[0][0][0].item<float>(), map.min().item<float>());
  EXPECT_LE(map[0][0][0].item<float>(), nonzero_corner_neighbour.item<float>());
  EXPECT_EQ(parse_accumulation("float16", "--accumulate"), Accumulation::kFloat16);
  EXPECT_THAT(testing::error_of([] { parse_accumulation("bf16", "--accumulate"); }),
              HasSubstr("--accumulate: 'bf16' is not float32 or float16"));
}

}  // namespace
}  // namespace medseg
