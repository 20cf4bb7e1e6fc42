#include "medseg/infer/tiling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SlidingWindowSteps, WorkedExamples) {
  // 100 / 40 at 0.5: ceil(60 / 20) + 1 = 4 steps of 20.
  EXPECT_THAT(sliding_window_steps({100}, {40}, 0.5)[0], ElementsAre(0, 20, 40, 60));
  // The reference's own example: 110 / 64 -> 3 steps of 23.
  EXPECT_THAT(sliding_window_steps({110}, {64}, 0.5)[0], ElementsAre(0, 23, 46));
  // Image == patch: one step.
  EXPECT_THAT(sliding_window_steps({40}, {40}, 0.5)[0], ElementsAre(0));
  // One voxel more than the patch: two steps.
  EXPECT_THAT(sliding_window_steps({41}, {40}, 0.5)[0], ElementsAre(0, 1));
  // 45 / 40 at 0.1: target 4, ceil(5 / 4) + 1 = 3 steps of 2.5: round half to even -> 0, 2, 5.
  EXPECT_THAT(sliding_window_steps({45}, {40}, 0.1)[0], ElementsAre(0, 2, 5));
  // Step 1: tiles touch.
  EXPECT_THAT(sliding_window_steps({120}, {40}, 1.0)[0], ElementsAre(0, 40, 80));
}

TEST(SlidingWindowSteps, PerAxis) {
  const auto steps = sliding_window_steps({100, 40, 41}, {40, 40, 40}, 0.5);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_THAT(steps[0], ElementsAre(0, 20, 40, 60));
  EXPECT_THAT(steps[1], ElementsAre(0));
  EXPECT_THAT(steps[2], ElementsAre(0, 1));
}

TEST(SlidingWindowSteps, TilesCoverEveryVoxel) {
  for (int64_t image : {40, 41, 57, 100, 113, 250})
    for (double step : {0.25, 0.5, 0.7, 1.0}) {
      const auto steps = sliding_window_steps({image}, {40}, step)[0];
      std::vector<int> covered(static_cast<size_t>(image), 0);
      for (int64_t s : steps) {
        ASSERT_GE(s, 0);
        ASSERT_LE(s + 40, image);
        for (int64_t i = s; i < s + 40; ++i) covered[i] = 1;
      }
      EXPECT_EQ(std::count(covered.begin(), covered.end(), 1), image) << image << " at " << step;
    }
}

TEST(SlidingWindowSteps, RejectsBadInput) {
  try {
    sliding_window_steps({30}, {40}, 0.5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("smaller than the patch"));
  }
  try {
    sliding_window_steps({60}, {40}, 0.0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("step size must be in (0, 1]"));
  }
  EXPECT_THROW(sliding_window_steps({60}, {40}, 1.5), Error);
}

TEST(SlidingWindowTiles, ThreeDimensionalTilesAreZMajor) {
  const auto tiles = sliding_window_tiles({50, 40, 41}, {40, 40, 40}, 0.5);
  ASSERT_EQ(tiles.size(), 2u * 1u * 2u);
  EXPECT_THAT(tiles[0].begin, ElementsAre(0, 0, 0));
  EXPECT_THAT(tiles[1].begin, ElementsAre(0, 0, 1));
  EXPECT_THAT(tiles[2].begin, ElementsAre(10, 0, 0));
  EXPECT_THAT(tiles[3].size, ElementsAre(40, 40, 40));
  EXPECT_FALSE(tiles[0].planar);
}

TEST(SlidingWindowTiles, TwoDimensionalPatchesTileEverySlice) {
  const auto tiles = sliding_window_tiles({3, 50, 40}, {40, 40}, 0.5);
  ASSERT_EQ(tiles.size(), 3u * 2u * 1u);  // y: ceil(10 / 20) + 1 = 2 steps (0, 10)
  EXPECT_THAT(tiles[0].begin, ElementsAre(0, 0, 0));
  EXPECT_THAT(tiles[1].begin, ElementsAre(0, 10, 0));
  EXPECT_THAT(tiles[5].begin, ElementsAre(2, 10, 0));
  EXPECT_THAT(tiles[5].size, ElementsAre(1, 40, 40));
  EXPECT_TRUE(tiles[5].planar);
}

TEST(Padding, SplitsTheMissingVoxelsWithTheOddOneAfter) {
  const Padding p = padding_for_patch({36, 50, 35}, {40, 56, 40});
  EXPECT_THAT(p.before, ElementsAre(2, 3, 2));
  EXPECT_THAT(p.after, ElementsAre(2, 3, 3));
  EXPECT_THAT(p.padded_shape({36, 50, 35}), ElementsAre(40, 56, 40));
  EXPECT_FALSE(p.empty());
  // 2D patches pad only (y, x); larger axes are not touched.
  const Padding q = padding_for_patch({3, 60, 30}, {40, 32});
  EXPECT_THAT(q.before, ElementsAre(0, 0, 1));
  EXPECT_THAT(q.after, ElementsAre(0, 0, 1));
  EXPECT_TRUE(padding_for_patch({40, 56, 40}, {40, 56, 40}).empty());
}

TEST(Padding, PadsWithZeroAndUnpadsExactly) {
  const at::Tensor data = torch::arange(2 * 3 * 4 * 5, torch::kFloat).reshape({2, 3, 4, 5}) + 1;
  const Padding p = padding_for_patch({3, 4, 5}, {4, 7, 5});
  const at::Tensor padded = pad_volume(data, p);
  ASSERT_EQ(padded.sizes(), (std::vector<int64_t>{2, 4, 7, 5}));
  EXPECT_EQ(padded.sum().item<float>(), data.sum().item<float>());
  EXPECT_EQ(padded[0][3].abs().sum().item<float>(), 0.0f);     // z padded after
  EXPECT_EQ(padded[1][0][0].abs().sum().item<float>(), 0.0f);  // y padded before (1)
  EXPECT_TRUE(torch::equal(unpad_volume(padded, p), data));
  EXPECT_TRUE(pad_volume(data, padding_for_patch({3, 4, 5}, {2, 2, 2})).is_same(data));
}

}  // namespace
}  // namespace medseg
