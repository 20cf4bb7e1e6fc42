#include "medseg/data/intensity_transforms.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/data/gaussian_blur.h"
#include "medseg/data/low_resolution.h"
#include "medseg/data/mirror_transform.h"

namespace medseg {
namespace {

std::vector<Rng> rngs(int n, uint64_t seed = 11) {
  std::vector<Rng> r;
  for (int i = 0; i < n; ++i) r.emplace_back(seed + i);
  return r;
}

at::Tensor batch() {
  torch::manual_seed(3);
  return torch::randn({2, 2, 6, 7, 8}) * 2 + 1;
}

TEST(IntensityTransforms, ProbabilityZeroLeavesTheBatchBitIdentical) {
  const at::Tensor original = batch();
  at::Tensor x = original.clone();
  auto r = rngs(2);
  gaussian_noise(x, GaussianNoiseOptions{0.0, 0.0, 0.1}, r);
  gaussian_blur(x, GaussianBlurOptions{0.0, 1.0, 0.5, 1.0}, r);
  brightness(x, BrightnessOptions{0.0, 0.75, 1.25}, r);
  contrast(x, ContrastOptions{0.0, 0.75, 1.25}, r);
  simulate_low_resolution(x, LowResolutionOptions{0.0, 1.0, 0.5, 1.0, {}}, r);
  gamma(x, GammaOptions{0.0, 0.7, 1.5, true}, r);
  gamma(x, GammaOptions{0.0, 0.7, 1.5, false}, r);
  at::Tensor seg = torch::zeros({2, 1, 6, 7, 8}, torch::kShort);
  mirror(x, seg, MirrorOptions{{0, 1, 2}, 0.0}, r);
  EXPECT_TRUE(torch::equal(x, original));
}

TEST(IntensityTransforms, GaussianNoiseHasTheDrawnStandardDeviation) {
  const at::Tensor original = torch::zeros({1, 1, 40, 40, 40});
  at::Tensor x = original.clone();
  auto r = rngs(1);
  gaussian_noise(x, GaussianNoiseOptions{1.0, 0.05, 0.05}, r);
  EXPECT_NEAR(x.std().item<double>(), 0.05, 0.002);
  EXPECT_NEAR(x.mean().item<double>(), 0.0, 0.002);
}

TEST(IntensityTransforms, GaussianNoiseDrawsOneSigmaAndAFieldPerChannel) {
  // batchgeneratorsv2 0.3 with synchronize_channels=True: one sigma, independent fields.
  at::Tensor x = torch::zeros({1, 2, 30, 30, 30});
  auto r = rngs(1, 4);
  gaussian_noise(x, GaussianNoiseOptions{1.0, 0.02, 0.1}, r);
  const double sd0 = x[0][0].std().item<double>(), sd1 = x[0][1].std().item<double>();
  EXPECT_GT(sd0, 0.01);
  EXPECT_NEAR(sd0, sd1, 0.05 * sd0);
  const double correlation = (x[0][0] * x[0][1]).mean().item<double>() / (sd0 * sd1);
  EXPECT_LT(std::abs(correlation), 0.05);
}

TEST(IntensityTransforms, BrightnessFactorIsBelowOrAboveOneWithEqualChance) {
  // BGContrast((0.75, 1.25)): half the factors in [0.75, 1), half in [1, 1.25) (a uniform draw
  // would give the same here; so also check with an asymmetric range, where they differ).
  const BrightnessOptions o{1.0, 0.5, 1.25};
  int below = 0, total = 0;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    at::Tensor x = torch::ones({1, 2, 2, 2, 2});
    auto r = rngs(1, seed);
    brightness(x, o, r);
    for (int c = 0; c < 2; ++c, ++total) below += x[0][c][0][0][0].item<double>() < 1.0;
  }
  // Uniform in [0.5, 1.25) would put two thirds below 1.
  EXPECT_NEAR(static_cast<double>(below) / total, 0.5, 0.05);
}

TEST(IntensityTransforms, BrightnessMultipliesEachChannelWithinItsRange) {
  const at::Tensor original = batch();
  at::Tensor x = original.clone();
  auto r = rngs(2);
  brightness(x, BrightnessOptions{1.0, 0.75, 1.25}, r);
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 2; ++c) {
      const at::Tensor ratio = x[b][c] / original[b][c];
      const double factor = ratio.mean().item<double>();
      EXPECT_GE(factor, 0.75);
      EXPECT_LT(factor, 1.25);
      EXPECT_TRUE(torch::allclose(ratio, torch::full_like(ratio, factor), 1e-4, 1e-4));
    }
}

TEST(IntensityTransforms, ContrastStaysWithinTheChannelRangeAndKeepsTheMeanWhereUnclipped) {
  const at::Tensor original = batch();
  at::Tensor x = original.clone();
  auto r = rngs(2, 5);
  contrast(x, ContrastOptions{1.0, 0.75, 1.25}, r);
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 2; ++c) {
      const at::Tensor in = original[b][c], out = x[b][c];
      EXPECT_GE(out.min().item<float>(), in.min().item<float>());
      EXPECT_LE(out.max().item<float>(), in.max().item<float>());
      // (out - mean) = f (in - mean) for unclipped voxels, with f in [0.75, 1.25].
      const double mean = in.mean().item<double>();
      const at::Tensor inside = (out > in.min()) & (out < in.max()) & ((in - mean).abs() > 0.1);
      const at::Tensor f = ((out - mean) / (in - mean)).masked_select(inside);
      EXPECT_NEAR(f.min().item<double>(), f.max().item<double>(), 1e-3);
      EXPECT_GE(f.mean().item<double>(), 0.75 - 1e-4);
      EXPECT_LE(f.mean().item<double>(), 1.25 + 1e-4);
    }
}

TEST(IntensityTransforms, GammaKeepsMeanStdAndOrder) {
  for (const bool invert : {false, true}) {
    const at::Tensor original = batch();
    at::Tensor x = original.clone();
    auto r = rngs(2, invert ? 21 : 31);
    gamma(x, GammaOptions{1.0, 0.7, 1.5, invert}, r);
    EXPECT_FALSE(torch::allclose(x, original, 1e-3, 1e-3));
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 2; ++c) {
        const at::Tensor in = original[b][c].flatten(), out = x[b][c].flatten();
        EXPECT_NEAR(out.mean().item<double>(), in.mean().item<double>(), 1e-4);
        EXPECT_NEAR(out.std(false).item<double>(), in.std(false).item<double>(), 1e-4);
        // A monotonic map: in the input's order the output never decreases.
        const at::Tensor ordered = out.index_select(0, std::get<1>(in.sort()));
        EXPECT_GE((ordered.slice(0, 1) - ordered.slice(0, 0, -1)).min().item<float>(), -1e-5f);
      }
  }
}

TEST(GaussianBlur, MatchesScipyKernelAndBorders) {
  // A unit impulse in 1D, sigma 1: the centre weight 1 / sum(exp(-i^2 / 2), |i| <= 4).
  at::Tensor impulse = torch::zeros({21});
  impulse[10] = 1.0;
  const at::Tensor k = gaussian_smooth(impulse, {1.0});
  EXPECT_NEAR(k[10].item<double>(), 0.3989435, 1e-6);
  EXPECT_NEAR(k[11].item<double>(), 0.3989435 * std::exp(-0.5), 1e-6);
  EXPECT_EQ(k[15].item<float>(), 0.0f);  // truncated at int(4 sigma + 0.5) = 4
  // 'reflect' keeps a constant; zero borders lose half the kernel at the edge.
  const at::Tensor ones = torch::ones({3, 9, 9});
  EXPECT_TRUE(torch::allclose(gaussian_smooth(ones, {1.0, 1.0, 1.0}), ones, 1e-6, 1e-6));
  const at::Tensor edge = gaussian_smooth(torch::ones({9}), {1.0}, BlurBorder::kZero);
  EXPECT_NEAR(edge[0].item<double>(), 0.3989435 + (1 - 0.3989435) / 2, 1e-6);
  // scipy.ndimage.gaussian_filter([0, 0, 1, 2], 1) reflects as 0 | 0 0 1 2 | 2 1 0 0: at
  // index 3, w0*2 + w1*(1 + 2) + w2*(0 + 1) + w3*(0 + 0) + w4*(0 + 0).
  const double w0 = 0.3989435, w1 = w0 * std::exp(-0.5), w2 = w0 * std::exp(-2.0);
  const at::Tensor ramp = gaussian_smooth(torch::tensor({0.0f, 0.0f, 1.0f, 2.0f}), {1.0});
  EXPECT_NEAR(ramp[3].item<double>(), w0 * 2 + w1 * 3 + w2 * 1, 1e-6);
}

TEST(GaussianBlur, AugmentationKernelAndBorderAreBatchgeneratorsV2s) {
  // Kernel size: the odd number nearest to 6 sigma + 0.5 (sigma 1: 6.5 -> 7 taps, radius 3;
  // sigma 0.5: 3.5 -> 3 taps, radius 1; sigma 0.75: 5 taps).
  at::Tensor impulse = torch::zeros({21});
  impulse[10] = 1.0;
  const at::Tensor wide = augmentation_blur(impulse, {1.0});
  double sum = 0.0;
  for (int i = -3; i <= 3; ++i) sum += std::exp(-0.5 * i * i);
  EXPECT_NEAR(wide[10].item<double>(), 1.0 / sum, 1e-6);
  EXPECT_GT(wide[13].item<float>(), 0.0f);
  EXPECT_EQ(wide[14].item<float>(), 0.0f);
  const at::Tensor narrow = augmentation_blur(impulse, {0.5});
  EXPECT_GT(narrow[11].item<float>(), 0.0f);
  EXPECT_EQ(narrow[12].item<float>(), 0.0f);
  const at::Tensor middle = augmentation_blur(impulse, {0.75});
  EXPECT_GT(middle[12].item<float>(), 0.0f);
  EXPECT_EQ(middle[13].item<float>(), 0.0f);
  // torch's 'reflect' border: [0, 0, 1, 2] continues as 1 0 0 past its end, so index 3 is
  // w0 * 2 + w1 * (1 + 1) + w2 * (0 + 0) + w3 * (0 + 0).
  const at::Tensor ramp = augmentation_blur(torch::tensor({0.0f, 0.0f, 1.0f, 2.0f}), {1.0});
  EXPECT_NEAR(ramp[3].item<double>(), (2.0 + 2.0 * std::exp(-0.5)) / sum, 1e-6);
  // A border wider than the axis folds back and forth; a constant stays constant.
  const at::Tensor ones = torch::ones({2, 2});
  EXPECT_TRUE(torch::allclose(augmentation_blur(ones, {1.0, 1.0}), ones, 1e-6, 1e-6));
}

TEST(GaussianBlur, DrawsOneSigmaPerAxis) {
  // An impulse blurred by the transform spreads differently along the two axes.
  at::Tensor x = torch::zeros({1, 1, 15, 15});
  x[0][0][7][7] = 1.0;
  auto r = rngs(1, 3);
  gaussian_blur(x, GaussianBlurOptions{1.0, 1.0, 0.5, 1.0}, r);
  const double along0 = (x[0][0][8][7] / x[0][0][7][7]).item<double>();
  const double along1 = (x[0][0][7][8] / x[0][0][7][7]).item<double>();
  EXPECT_GT(std::abs(along0 - along1), 1e-3);
}

TEST(GaussianBlur, BlursChosenChannels) {
  const at::Tensor original = batch();
  at::Tensor x = original.clone();
  auto r = rngs(2);
  gaussian_blur(x, GaussianBlurOptions{1.0, 1.0, 0.5, 1.0}, r);
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 2; ++c)  // smoothing lowers the variance of white noise
      EXPECT_LT(x[b][c].std().item<double>(), 0.6 * original[b][c].std().item<double>());
}

TEST(LowResolution, KeepsIgnoredAxesAndChangesOthers) {
  // An image that varies along axis 0 only: ignoring axis 0 reproduces it exactly.
  const at::Tensor ramp =
      torch::arange(8, torch::kFloat).view({1, 1, 8, 1, 1}).expand({1, 1, 8, 6, 6});
  at::Tensor x = ramp.clone();
  auto r = rngs(1);
  simulate_low_resolution(x, LowResolutionOptions{1.0, 1.0, 0.5, 0.5, {0}}, r);
  EXPECT_TRUE(torch::allclose(x, ramp, 1e-5, 1e-5));
  x = ramp.clone();
  simulate_low_resolution(x, LowResolutionOptions{1.0, 1.0, 0.5, 0.5, {}}, r);
  EXPECT_FALSE(torch::allclose(x, ramp, 1e-3, 1e-3));
  // Nearest-exact 8 -> 4 keeps voxels 1, 3, 5, 7; linear back to 8 stays within their range.
  EXPECT_GE(x.min().item<float>(), 1.0f - 1e-5);
  EXPECT_LE(x.max().item<float>(), 7.0f + 1e-5);
}

TEST(LowResolution, TwoDimensionalImagesComeBackBilinearly) {
  // A step edge: bilinear upsampling stays within [0, 1] (bicubic overshoots by several %).
  at::Tensor step = torch::zeros({1, 1, 12, 12});
  step.slice(3, 6).fill_(1.0);
  for (uint64_t seed = 0; seed < 4; ++seed) {
    at::Tensor x = step.clone();
    auto r = rngs(1, seed);
    simulate_low_resolution(x, LowResolutionOptions{1.0, 1.0, 0.5, 0.6, {}}, r);
    EXPECT_FALSE(torch::equal(x, step));
    EXPECT_GE(x.min().item<float>(), -1e-5f);
    EXPECT_LE(x.max().item<float>(), 1.0f + 1e-5f);
  }
}

TEST(Mirror, FlipsImageAndLabelsTogether) {
  const at::Tensor original = batch();
  const at::Tensor labels = torch::randint(0, 3, {2, 1, 6, 7, 8}, torch::kShort);
  at::Tensor x = original.clone(), seg = labels.clone();
  auto r = rngs(2);
  mirror(x, seg, MirrorOptions{{0, 1, 2}, 1.0}, r);
  EXPECT_TRUE(torch::equal(x, original.flip({2, 3, 4})));
  EXPECT_TRUE(torch::equal(seg, labels.flip({2, 3, 4})));
  x = original.clone();
  seg = labels.clone();
  mirror(x, seg, MirrorOptions{{1}, 1.0}, r);
  EXPECT_TRUE(torch::equal(x, original.flip({3})));
  EXPECT_TRUE(torch::equal(seg, labels.flip({3})));
}

}  // namespace
}  // namespace medseg
