#include "medseg/data/patch_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "medseg/core/error.h"
#include "unit/data/synthetic_cases.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

TEST(PatchSampler, ForcesTheLastThirdOfTheBatchOntoForeground) {
  auto forced = [](int64_t batch_size, double percent) {
    std::vector<int64_t> samples;
    for (int64_t i = 0; i < batch_size; ++i)
      if (is_forced_foreground(i, batch_size, percent)) samples.push_back(i);
    return samples;
  };
  EXPECT_EQ(forced(2, 0.33), (std::vector<int64_t>{1}));         // round(1.34) = 1
  EXPECT_EQ(forced(3, 0.33), (std::vector<int64_t>{2}));         // round(2.01) = 2
  EXPECT_EQ(forced(7, 0.33), (std::vector<int64_t>{5, 6}));      // round(4.69) = 5
  EXPECT_EQ(forced(12, 0.33), (std::vector<int64_t>{8, 9, 10, 11}));
  EXPECT_EQ(forced(1, 0.33), (std::vector<int64_t>{}));          // round(0.67) = 1
  EXPECT_EQ(forced(4, 0.0), (std::vector<int64_t>{}));
  EXPECT_EQ(forced(2, 0.75), (std::vector<int64_t>{0, 1}));      // round(0.5) = 0 (half to even)
}

TEST(PatchSampler, RegionStartCoversTheReferenceRange) {
  Rng rng(1);
  int64_t lo = 100, hi = -100;
  for (int i = 0; i < 2000; ++i) {
    const auto start = region_start({20}, /*size=*/{14}, /*patch=*/{10}, std::nullopt, rng);
    lo = std::min(lo, start[0]);
    hi = std::max(hi, start[0]);
  }
  // need_to_pad 4: from -2 to 20 + 2 - 14.
  EXPECT_EQ(lo, -2);
  EXPECT_EQ(hi, 8);
  // A volume smaller than the region: need_to_pad grows to 14 - 5 = 9: from -5 to -4.
  for (int i = 0; i < 50; ++i) {
    const int64_t s = region_start({5}, {14}, {10}, std::nullopt, rng)[0];
    EXPECT_TRUE(s == -5 || s == -4) << s;
  }
  // Centred on a voxel, only the lower bound is clipped (as the reference).
  EXPECT_EQ(region_start({20}, {14}, {10}, std::vector<int64_t>{3}, rng)[0], -2);
  EXPECT_EQ(region_start({20}, {14}, {10}, std::vector<int64_t>{15}, rng)[0], 8);
  EXPECT_EQ(region_start({20}, {14}, {10}, std::vector<int64_t>{19}, rng)[0], 12);
}

TEST(PatchSampler, PadsImageWithZeroAndLabelsWithMinusOneAtTheBorder) {
  const TrainingCase c = testing::box_case("a", {4, 5, 6}, {0, 0, 0}, {4, 5, 6}, 2);
  const Patch p = crop_padded(c.data, c.seg, {-1, 2, 3}, {3, 4, 5});
  ASSERT_EQ(p.data.sizes(), (std::vector<int64_t>{1, 3, 4, 5}));
  ASSERT_EQ(p.seg.sizes(), (std::vector<int64_t>{1, 3, 4, 5}));
  // z = -1 lies outside: padding.
  EXPECT_TRUE(torch::equal(p.data[0][0], torch::zeros({4, 5})));
  EXPECT_TRUE(torch::equal(p.seg[0][0], torch::full({4, 5}, -1, torch::kShort)));
  // Patch (z=1, y=0, x=0) is volume (0, 2, 3): flat index 0*30 + 2*6 + 3 = 15.
  EXPECT_EQ(p.data[0][1][0][0].item<float>(), 15.0f);
  EXPECT_EQ(p.seg[0][1][0][0].item<int>(), 2);
  // y = 2 + 3 = 5 is outside (the volume has y < 5); x = 3 + 3 = 6 is outside.
  EXPECT_EQ(p.data[0][1][3][0].item<float>(), 0.0f);
  EXPECT_EQ(p.seg[0][1][3][0].item<int>(), -1);
  EXPECT_EQ(p.data[0][2][2][2].item<float>(), 1 * 30 + 4 * 6 + 5);
  EXPECT_EQ(p.data[0][2][2][3].item<float>(), 0.0f);
  EXPECT_EQ(p.seg[0][2][2][3].item<int>(), -1);
  // 2 * 3 * 3 voxels are inside.
  EXPECT_EQ((p.seg >= 0).sum().item<int64_t>(), 2 * 3 * 3);
  // A region that misses the volume is all padding.
  const Patch outside = crop_padded(c.data, c.seg, {10, 0, 0}, {2, 2, 2});
  EXPECT_EQ((outside.seg == -1).sum().item<int64_t>(), 8);
}

TEST(PatchSampler, ForcedSamplesAreCentredOnForeground) {
  // A 2x2x2 object in the corner of a 40^3 volume: a random 16^3 patch rarely sees it.
  const TrainingCase c = testing::box_case("a", {40, 40, 40}, {30, 30, 30}, {32, 32, 32});
  PatchSamplerOptions o;
  o.patch_size = o.sampled_size = {16, 16, 16};
  Rng rng(3);
  int random_hits = 0;
  for (int i = 0; i < 300; ++i) {
    const Patch forced = sample_patch(c, o, /*force_foreground=*/true, rng);
    EXPECT_EQ(forced.seg[0][8][8][8].item<int>(), 1) << "draw " << i;
    const Patch random = sample_patch(c, o, /*force_foreground=*/false, rng);
    random_hits += (random.seg == 1).any().item<bool>();
  }
  // Uniform starts 0..24 per axis; the object is fully missed unless start in [15, 31]: 10/25.
  EXPECT_LT(random_hits, 60);
}

TEST(PatchSampler, ChoosesAmongPresentClassesOnly) {
  TrainingCase c = testing::box_case("a", {20, 20, 20}, {5, 5, 5}, {7, 7, 7}, 1);
  c.seg[0].narrow(0, 15, 2).narrow(1, 15, 2).narrow(2, 15, 2).fill_(2);
  c.class_locations = all_class_locations(c.seg);
  c.class_locations[3] = torch::zeros({0, 3}, torch::kLong);  // declared, absent in this case
  PatchSamplerOptions o;
  o.patch_size = o.sampled_size = {8, 8, 8};
  Rng rng(5);
  int ones = 0, twos = 0;
  for (int i = 0; i < 400; ++i) {
    const int centre = sample_patch(c, o, true, rng).seg[0][4][4][4].item<int>();
    ones += centre == 1;
    twos += centre == 2;
  }
  EXPECT_EQ(ones + twos, 400);
  EXPECT_GT(ones, 150);
  EXPECT_GT(twos, 150);
  // The ignore label is never chosen.
  o.ignore_label = 2;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sample_patch(c, o, true, rng).seg[0][4][4][4].item<int>(), 1);
}

TEST(PatchSampler, CentresUnforcedSamplesOnAnnotatedVoxelsWithAnIgnoreLabel) {
  // Sparse annotation: only the box [20, 22)^3 is annotated (label 1 inside), the rest ignored.
  TrainingCase c = testing::box_case("sparse", {40, 40, 40}, {20, 20, 20}, {22, 22, 22}, 1);
  c.seg.fill_(9).slice(1, 20, 22).slice(2, 20, 22).slice(3, 20, 22).fill_(0);
  c.seg[0][21][21][21] = 1;
  c.class_locations = all_class_locations(c.seg);
  c.class_locations.erase(9);
  c.annotated_locations = torch::nonzero(c.seg[0] != 9);
  ASSERT_EQ(c.annotated_locations.size(0), 8);
  PatchSamplerOptions o;
  o.patch_size = o.sampled_size = {8, 8, 8};
  o.ignore_label = 9;
  Rng rng(4);
  for (int i = 0; i < 30; ++i) {
    const Patch p = sample_patch(c, o, /*force_foreground=*/false, rng);
    EXPECT_NE(p.seg[0][4][4][4].item<int>(), 9) << "draw " << i;
    EXPECT_EQ(sample_patch(c, o, true, rng).seg[0][4][4][4].item<int>(), 1);
  }
}

TEST(PatchSampler, FallsBackToUniformWithoutForeground) {
  TrainingCase c = testing::box_case("empty", {10, 10, 10}, {0, 0, 0}, {0, 0, 0});
  EXPECT_TRUE(c.class_locations.empty());
  PatchSamplerOptions o;
  o.patch_size = o.sampled_size = {4, 4, 4};
  Rng rng(2);
  const Patch p = sample_patch(c, o, true, rng);
  EXPECT_EQ(p.data.sizes(), (std::vector<int64_t>{1, 4, 4, 4}));
}

TEST(PatchSampler, TakesForegroundSlicesForTwoDimensionalPatches) {
  // Labels only on slice 7 of 12.
  const TrainingCase c = testing::box_case("a", {12, 30, 30}, {7, 20, 20}, {8, 22, 22});
  PatchSamplerOptions o;
  o.patch_size = o.sampled_size = {10, 10};
  Rng rng(9);
  for (int i = 0; i < 50; ++i) {
    const Patch p = sample_patch(c, o, true, rng);
    ASSERT_EQ(p.data.sizes(), (std::vector<int64_t>{1, 10, 10}));
    EXPECT_EQ(p.seg[0][5][5].item<int>(), 1);
    // The image of slice 7 starts at flat index 7 * 900.
    EXPECT_GE(p.data.max().item<float>(), 7 * 900);
    EXPECT_LT(p.data.max().item<float>(), 8 * 900);
  }
}

TEST(PatchSampler, RejectsInconsistentOptionsAndCases) {
  PatchSamplerOptions o;
  o.patch_size = {8, 8, 8};
  o.sampled_size = {8, 6, 8};
  try {
    validate_sampler_options(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sampled size 6 on axis 1 is smaller than the patch size 8"));
  }
  o.sampled_size = {8, 8};
  EXPECT_THROW(validate_sampler_options(o), Error);
  const TrainingCase c = testing::box_case("flat", {10, 10}, {1, 1}, {2, 2});
  o.sampled_size = o.patch_size;
  Rng rng(1);
  try {
    sample_patch(c, o, false, rng);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("case flat: has 2 spatial axes; a patch of 3 axes needs 3 or 4"));
  }
}

}  // namespace
}  // namespace medseg
