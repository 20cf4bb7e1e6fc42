#include "medseg/data/augmentation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace medseg {
namespace {

ConfigurationPlan plan_with_patch(std::vector<int64_t> patch) {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.patch_size = std::move(patch);
  return c;
}

TEST(Augmentation, ReferenceDefaultsForIsotropicThreeDimensionalPatches) {
  const AugmentationOptions o = reference_augmentation(plan_with_patch({40, 56, 40}));
  const double deg30 = 30.0 / 360 * 2 * M_PI;
  ASSERT_EQ(o.spatial.rotation.size(), 3u);
  for (const auto& [lo, hi] : o.spatial.rotation) {
    EXPECT_DOUBLE_EQ(lo, -deg30);
    EXPECT_DOUBLE_EQ(hi, deg30);
  }
  EXPECT_EQ(o.spatial.p_rotation, 0.2);
  EXPECT_EQ(o.spatial.p_scaling, 0.2);
  EXPECT_EQ(o.spatial.scaling, std::make_pair(0.7, 1.4));
  EXPECT_FALSE(o.spatial.in_plane_only);
  EXPECT_FALSE(o.spatial.elastic);
  EXPECT_EQ(o.noise.probability, 0.1);
  EXPECT_EQ(o.noise.std_max, 0.1);
  EXPECT_EQ(o.blur.probability, 0.2);
  EXPECT_EQ(o.blur.p_per_channel, 0.5);
  EXPECT_EQ(o.blur.sigma_min, 0.5);
  EXPECT_EQ(o.blur.sigma_max, 1.0);
  EXPECT_EQ(o.brightness.probability, 0.15);
  EXPECT_EQ(o.brightness.multiplier_min, 0.75);
  EXPECT_EQ(o.contrast.probability, 0.15);
  EXPECT_EQ(o.contrast.factor_max, 1.25);
  EXPECT_EQ(o.low_resolution.probability, 0.25);
  EXPECT_EQ(o.low_resolution.zoom_min, 0.5);
  EXPECT_TRUE(o.low_resolution.ignore_axes.empty());
  EXPECT_EQ(o.inverted_gamma.probability, 0.1);
  EXPECT_TRUE(o.inverted_gamma.invert);
  EXPECT_EQ(o.gamma.probability, 0.3);
  EXPECT_FALSE(o.gamma.invert);
  EXPECT_EQ(o.gamma.gamma_min, 0.7);
  EXPECT_EQ(o.gamma.gamma_max, 1.5);
  EXPECT_EQ(o.mirror.axes, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(o.mirror.p_per_axis, 0.5);
  EXPECT_EQ(sampled_patch_size(o, {40, 56, 40}), (std::vector<int64_t>{73, 80, 64}));
}

TEST(Augmentation, AnisotropicPatchesRotateInPlaneOnly) {
  EXPECT_TRUE(is_anisotropic_patch({20, 192, 160}));  // 192 / 20 > 3
  EXPECT_FALSE(is_anisotropic_patch({64, 192, 160}));
  EXPECT_FALSE(is_anisotropic_patch({192, 20, 160}));  // only the first axis counts
  const AugmentationOptions o = reference_augmentation(plan_with_patch({20, 192, 160}));
  EXPECT_TRUE(o.spatial.in_plane_only);
  ASSERT_EQ(o.spatial.rotation.size(), 3u);
  EXPECT_DOUBLE_EQ(o.spatial.rotation[0].second, M_PI);
  EXPECT_EQ(o.spatial.rotation[1], std::make_pair(0.0, 0.0));
  EXPECT_EQ(o.low_resolution.ignore_axes, (std::vector<int64_t>{0}));
  EXPECT_EQ(sampled_patch_size(o, {20, 192, 160}), (std::vector<int64_t>{20, 225, 225}));
}

TEST(Augmentation, TwoDimensionalPatchesRotateAllTheWayUnlessElongated) {
  AugmentationOptions o = reference_augmentation(plan_with_patch({56, 40}));
  ASSERT_EQ(o.spatial.rotation.size(), 1u);
  EXPECT_DOUBLE_EQ(o.spatial.rotation[0].second, M_PI);
  EXPECT_EQ(o.mirror.axes, (std::vector<int64_t>{0, 1}));
  o = reference_augmentation(plan_with_patch({40, 96}));  // 96 / 40 > 1.5: +-15 degrees
  EXPECT_DOUBLE_EQ(o.spatial.rotation[0].second, M_PI / 12);
}

TEST(Augmentation, TrainerSettingsSwitchPartsOff) {
  const ConfigurationPlan plan = plan_with_patch({40, 56, 40});
  AugmentationSettings settings;
  settings.mirroring = false;
  settings.elastic_deformation = true;
  AugmentationOptions o = reference_augmentation(plan, settings);
  EXPECT_TRUE(o.mirror.axes.empty());
  EXPECT_TRUE(o.spatial.elastic);
  settings.enabled = false;
  o = reference_augmentation(plan, settings);
  EXPECT_EQ(sampled_patch_size(o, {40, 56, 40}), (std::vector<int64_t>{40, 56, 40}));
  EXPECT_EQ(o.gamma.probability, 0.0);
}

TEST(Augmentation, NoAugmentationLeavesTheBatchBitIdentical) {
  torch::manual_seed(2);
  const at::Tensor data = torch::randn({2, 1, 6, 6, 6});
  const at::Tensor seg = torch::randint(-1, 3, {2, 1, 6, 6, 6}, torch::kShort);
  at::Tensor x = data.clone(), s = seg.clone();
  std::vector<Rng> rngs{Rng(1), Rng(2)};
  augment(x, s, no_augmentation(), {6, 6, 6}, rngs);
  EXPECT_TRUE(torch::equal(x, data));
  EXPECT_TRUE(torch::equal(s, seg));
}

TEST(Augmentation, IntensityTransformsNeverTouchLabels) {
  AugmentationOptions o = no_augmentation();
  o.noise.probability = o.blur.probability = o.brightness.probability = 1.0;
  o.contrast.probability = o.low_resolution.probability = 1.0;
  o.gamma.probability = o.inverted_gamma.probability = 1.0;
  torch::manual_seed(4);
  const at::Tensor data = torch::randn({3, 2, 8, 8, 8});
  const at::Tensor seg = torch::randint(-1, 3, {3, 1, 8, 8, 8}, torch::kShort);
  at::Tensor x = data.clone(), s = seg.clone();
  std::vector<Rng> rngs{Rng(1), Rng(2), Rng(3)};
  augment(x, s, o, {8, 8, 8}, rngs);
  EXPECT_TRUE(torch::equal(s, seg));
  EXPECT_FALSE(torch::allclose(x, data, 1e-2, 1e-2));
}

TEST(Augmentation, FullPipelineIsDeterministicAndKeepsTheLabelSet) {
  const AugmentationOptions o = reference_augmentation(plan_with_patch({16, 16, 16}));
  const std::vector<int64_t> sampled = sampled_patch_size(o, {16, 16, 16});
  torch::manual_seed(5);
  const at::Tensor data = torch::randn({4, 1, sampled[0], sampled[1], sampled[2]});
  const at::Tensor seg = torch::randint(-1, 3, {4, 1, sampled[0], sampled[1], sampled[2]}, torch::kShort);
  auto run = [&] {
    at::Tensor x = data.clone(), s = seg.clone();
    std::vector<Rng> rngs{Rng(7), Rng(8), Rng(9), Rng(10)};
    augment(x, s, o, {16, 16, 16}, rngs);
    return std::make_pair(x, s);
  };
  const auto [x1, s1] = run();
  const auto [x2, s2] = run();
  EXPECT_EQ(x1.sizes(), (std::vector<int64_t>{4, 1, 16, 16, 16}));
  EXPECT_TRUE(torch::equal(x1, x2));
  EXPECT_TRUE(torch::equal(s1, s2));
  EXPECT_TRUE(((s1 >= -1) & (s1 <= 2)).all().item<bool>());
}

}  // namespace
}  // namespace medseg
