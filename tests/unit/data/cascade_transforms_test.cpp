#include "medseg/data/cascade_transforms.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

// Dilation by brute force: a voxel is set when a mask voxel lies within `radius`.
at::Tensor brute_dilation(const at::Tensor& mask, double radius) {
  const at::Tensor m = mask.to(at::kBool).contiguous();
  at::Tensor out = at::zeros_like(m);
  const int64_t Z = m.size(0), Y = m.size(1), X = m.size(2);
  const auto in = m.accessor<bool, 3>();
  auto o = out.accessor<bool, 3>();
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t x = 0; x < X; ++x)
        for (int64_t a = 0; a < Z && !o[z][y][x]; ++a)
          for (int64_t b = 0; b < Y && !o[z][y][x]; ++b)
            for (int64_t c = 0; c < X; ++c)
              if (in[a][b][c] && double((a - z) * (a - z) + (b - y) * (b - y) +
                                        (c - x) * (c - x)) <= radius * radius) {
                o[z][y][x] = true;
                break;
              }
  return out;
}

at::Tensor random_mask(int64_t seed, std::vector<int64_t> shape, double fraction) {
  at::Generator g = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  return at::rand(shape, g) < fraction;
}

TEST(CascadeTransforms, DilationIsTheBallDilation) {
  for (const double radius : {1.0, 1.7, 2.5}) {
    const at::Tensor mask = random_mask(7, {7, 8, 9}, 0.04);
    EXPECT_TRUE(torch::equal(binary_morphology(mask, BinaryOperator::kDilation, radius),
                             brute_dilation(mask, radius)))
        << "radius " << radius;
  }
}

TEST(CascadeTransforms, ErosionKeepsVoxelsWhoseBallInsideThePatchIsInTheMask) {
  const at::Tensor mask = random_mask(3, {7, 8, 9}, 0.8);
  const double radius = 1.5;
  // Erosion: the complement's dilation, complemented (outside the patch is neither).
  const at::Tensor expected = brute_dilation(mask.logical_not(), radius).logical_not();
  EXPECT_TRUE(torch::equal(binary_morphology(mask, BinaryOperator::kErosion, radius), expected));
  // A full patch stays full: the border does not erode it.
  const at::Tensor full = at::ones({5, 5, 5}, at::kBool);
  EXPECT_TRUE(torch::equal(binary_morphology(full, BinaryOperator::kErosion, 2.0), full));
}

TEST(CascadeTransforms, OpeningRemovesSpecksAndClosingFillsHoles) {
  at::Tensor mask = at::zeros({12, 12, 12}, at::kBool);
  mask.slice(0, 2, 9).slice(1, 2, 9).slice(2, 2, 9).fill_(true);  // a 7^3 cube
  mask[11][11][0] = true;                                         // a speck
  const at::Tensor opened = binary_morphology(mask, BinaryOperator::kOpening, 1.0);
  EXPECT_FALSE(opened[11][11][0].item<bool>());
  EXPECT_TRUE(opened[5][5][5].item<bool>());
  at::Tensor holed = mask.clone();
  holed[5][5][5] = false;
  const at::Tensor closed = binary_morphology(holed, BinaryOperator::kClosing, 1.0);
  EXPECT_TRUE(closed[5][5][5].item<bool>());
}

TEST(CascadeTransforms, TwoDimensionalMasksUseADisk) {
  at::Tensor mask = at::zeros({9, 9}, at::kBool);
  mask[4][4] = true;
  const at::Tensor disk = binary_morphology(mask, BinaryOperator::kDilation, 2.0);
  // |d| <= 2 on the integer grid: 13 points.
  EXPECT_EQ(disk.sum().item<int64_t>(), 13);
  EXPECT_THROW(binary_morphology(at::zeros({4}, at::kBool), BinaryOperator::kDilation, 1.0), Error);
}

TEST(CascadeTransforms, OneHotChannelsPerValue) {
  const at::Tensor labels = torch::tensor({0, 1, 2, 2, -1}, at::kShort).view({1, 1, 1, 5});
  const at::Tensor onehot = one_hot_channels(labels, {1, 2});
  EXPECT_EQ(onehot.sizes(), (std::vector<int64_t>{1, 2, 1, 5}));
  EXPECT_EQ(onehot.scalar_type(), at::kFloat);
  EXPECT_TRUE(torch::equal(onehot[0][0][0], torch::tensor({0.f, 1.f, 0.f, 0.f, 0.f})));
  EXPECT_TRUE(torch::equal(onehot[0][1][0], torch::tensor({0.f, 0.f, 1.f, 1.f, 0.f})));
  EXPECT_THROW(one_hot_channels(labels.view({1, 5}), {1}), Error);
}

TEST(CascadeTransforms, RemovesOneSmallComponentNeverALargeOne) {
  // Channel 0: a large block (> 15% of the patch) and two single voxels.
  at::Tensor onehot = at::zeros({1, 1, 10, 10, 10});
  onehot[0][0].slice(0, 0, 6).fill_(1.0);  // 600 voxels
  onehot[0][0][9][0][0] = 1.0;
  onehot[0][0][9][9][9] = 1.0;
  CascadeAugmentationOptions o = no_cascade_augmentation();
  o.p_remove_component = 1.0;
  std::vector<Rng> rngs{make_rng(1, 2, 3)};
  at::Tensor out = onehot.clone();
  augment_previous_stage(out, o, rngs);
  EXPECT_EQ(out.sum().item<double>(), 601.0);
  EXPECT_EQ(out[0][0].slice(0, 0, 6).sum().item<double>(), 600.0);
  // Only a large component: nothing to remove.
  at::Tensor large = at::zeros({1, 1, 10, 10, 10});
  large[0][0].slice(0, 0, 6).fill_(1.0);
  at::Tensor kept = large.clone();
  augment_previous_stage(kept, o, rngs);
  EXPECT_TRUE(torch::equal(kept, large));
}

TEST(CascadeTransforms, OperatorsKeepChannelsDisjointAndAreSeeded) {
  at::Tensor labels = at::zeros({2, 1, 12, 12, 12}, at::kShort);
  labels.slice(2, 2, 6).fill_(1);
  labels.slice(2, 6, 10).slice(3, 3, 9).fill_(2);
  const at::Tensor onehot = one_hot_channels(labels, {1, 2});
  CascadeAugmentationOptions o;
  o.p_binary_operator = 1.0;
  o.p_remove_component = 0.0;
  std::vector<Rng> a{make_rng(5, 0, 0), make_rng(5, 0, 1)}, b = a;
  at::Tensor first = onehot.clone(), second = onehot.clone();
  augment_previous_stage(first, o, a);
  augment_previous_stage(second, o, b);
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_FALSE(torch::equal(first, onehot));
  EXPECT_LE(first.sum(1).max().item<double>(), 1.0);  // no voxel in two channels
  // Probability 0: unchanged.
  at::Tensor same = onehot.clone();
  std::vector<Rng> c{make_rng(5, 0, 0), make_rng(5, 0, 1)};
  augment_previous_stage(same, no_cascade_augmentation(), c);
  EXPECT_TRUE(torch::equal(same, onehot));
  std::vector<Rng> one{make_rng(5, 0, 0)};
  try {
    augment_previous_stage(same, o, one);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("1 generators for a batch of 2"));
  }
}

}  // namespace
}  // namespace medseg
