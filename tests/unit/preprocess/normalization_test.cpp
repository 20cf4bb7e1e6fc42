#include "medseg/preprocess/normalization.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;

std::vector<float> values(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

at::Tensor channel(std::vector<float> v) {
  return torch::tensor(v, torch::kFloat);
}

TEST(Normalization, ZScoreOverTheWholeChannel) {
  at::Tensor x = channel({1, 2, 3, 4});
  normalize_channel(x, "ZScoreNormalization", false, at::Tensor(), nullptr);
  // mean 2.5, population std sqrt(1.25) = 1.118034
  EXPECT_THAT(values(x), ElementsAre(FloatNear(-1.341641f, 1e-5), FloatNear(-0.447214f, 1e-5),
                                     FloatNear(0.447214f, 1e-5), FloatNear(1.341641f, 1e-5)));
}

TEST(Normalization, ZScoreInsideTheMaskZeroesTheOutside) {
  at::Tensor x = channel({0, 2, 4, 7});
  const at::Tensor seg = torch::tensor(std::vector<int16_t>{0, 1, 0, -1}, torch::kShort);
  normalize_channel(x, "ZScoreNormalization", true, seg, nullptr);
  // Over {0, 2, 4}: mean 2, std sqrt(8/3) = 1.632993; the -1 voxel becomes 0.
  EXPECT_THAT(values(x), ElementsAre(FloatNear(-1.224745f, 1e-5), FloatNear(0.0f, 1e-6),
                                     FloatNear(1.224745f, 1e-5), FloatNear(0.0f, 0.0f)));
}

TEST(Normalization, ZScoreOfAConstantDividesByTheFloor) {
  at::Tensor x = channel({5, 5, 5});
  normalize_channel(x, "ZScoreNormalization", false, at::Tensor(), nullptr);
  EXPECT_THAT(values(x), ElementsAre(0.0f, 0.0f, 0.0f));
}

TEST(Normalization, ZScoreWithMaskNeedsTheSegmentation) {
  at::Tensor x = channel({1, 2});
  try {
    normalize_channel(x, "ZScoreNormalization", true, at::Tensor(), nullptr);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("use_mask_for_norm needs a segmentation"));
  }
}

TEST(Normalization, CTClipsToThePercentilesThenStandardizes) {
  IntensityProperties p;
  p.mean = 10;
  p.std = 5;
  p.percentile_00_5 = 0;
  p.percentile_99_5 = 30;
  at::Tensor x = channel({-100, 0, 10, 20, 1000});
  normalize_channel(x, "CTNormalization", false, at::Tensor(), &p);
  EXPECT_THAT(values(x), ElementsAre(-2.0f, -2.0f, 0.0f, 2.0f, 4.0f));
}

TEST(Normalization, CTIgnoresTheMaskFlag) {
  IntensityProperties p;
  p.mean = 0;
  p.std = 2;
  p.percentile_00_5 = -10;
  p.percentile_99_5 = 10;
  at::Tensor x = channel({4, 8});
  normalize_channel(x, "CTNormalization", true, torch::tensor(std::vector<int16_t>{-1, 0}), &p);
  EXPECT_THAT(values(x), ElementsAre(2.0f, 4.0f));
}

TEST(Normalization, CTNeedsTheIntensityProperties) {
  at::Tensor x = channel({1});
  try {
    normalize_channel(x, "CTNormalization", false, at::Tensor(), nullptr);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("foreground_intensity_properties_per_channel"));
  }
}

TEST(Normalization, NoNormalizationLeavesValues) {
  at::Tensor x = channel({-3.5f, 7});
  normalize_channel(x, "NoNormalization", true, torch::tensor(std::vector<int16_t>{-1, -1}),
                    nullptr);
  EXPECT_THAT(values(x), ElementsAre(-3.5f, 7.0f));
}

TEST(Normalization, RescaleToUnitRange) {
  at::Tensor x = channel({2, 4, 6});
  normalize_channel(x, "RescaleTo01Normalization", false, at::Tensor(), nullptr);
  EXPECT_THAT(values(x), ElementsAre(0.0f, 0.5f, 1.0f));
  at::Tensor flat = channel({3, 3});
  normalize_channel(flat, "RescaleTo01Normalization", false, at::Tensor(), nullptr);
  EXPECT_THAT(values(flat), ElementsAre(0.0f, 0.0f));
}

TEST(Normalization, RgbToUnitRange) {
  at::Tensor x = channel({0, 255, 51});
  normalize_channel(x, "RGBTo01Normalization", false, at::Tensor(), nullptr);
  EXPECT_THAT(values(x), ElementsAre(0.0f, 1.0f, FloatNear(0.2f, 1e-7)));
  at::Tensor bad = channel({300});
  try {
    normalize_channel(bad, "RGBTo01Normalization", false, at::Tensor(), nullptr);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("values must lie in [0, 255]"));
  }
}

TEST(Normalization, UnknownSchemeIsNamed) {
  at::Tensor x = channel({1});
  try {
    normalize_channel(x, "HistogramMatching", false, at::Tensor(), nullptr);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown scheme 'HistogramMatching'"));
    EXPECT_THAT(e.what(), HasSubstr("ZScoreNormalization"));
  }
}

TEST(Normalization, WorksOnAChannelViewInPlace) {
  at::Tensor data = torch::stack({channel({1, 3}), channel({10, 30})});
  at::Tensor second = data[1];
  normalize_channel(second, "RescaleTo01Normalization", false, at::Tensor(), nullptr);
  EXPECT_THAT(values(data), ElementsAre(1.0f, 3.0f, 0.0f, 1.0f));
}

}  // namespace
}  // namespace medseg
