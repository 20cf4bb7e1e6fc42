#include "medseg/infer/mirroring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;

TEST(Mirroring, CombinationsInItertoolsOrder) {
  const auto c = mirror_axis_combinations({0, 1, 2});
  ASSERT_EQ(c.size(), 7u);
  EXPECT_THAT(c[0], ElementsAre(0));
  EXPECT_THAT(c[2], ElementsAre(2));
  EXPECT_THAT(c[3], ElementsAre(0, 1));
  EXPECT_THAT(c[5], ElementsAre(1, 2));
  EXPECT_THAT(c[6], ElementsAre(0, 1, 2));
  EXPECT_EQ(mirror_axis_combinations({0, 1}).size(), 3u);
  EXPECT_TRUE(mirror_axis_combinations({}).empty());
  EXPECT_EQ(mirror_pass_count({0, 1, 2}), 8);
  EXPECT_EQ(mirror_pass_count({}), 1);
}

TEST(Mirroring, RunsTheNetworkOnEveryMirroredInput) {
  std::vector<std::vector<float>> first_values;
  const LogitsFunction net = [&](const at::Tensor& x) {
    first_values.push_back({x[0][0][0][0][0].item<float>()});
    return x.clone();
  };
  const at::Tensor x = torch::arange(2 * 3 * 4, torch::kFloat).reshape({1, 1, 2, 3, 4});
  const at::Tensor sum = predict_mirrored_sum(net, x, {0, 1, 2});
  ASSERT_EQ(first_values.size(), 8u);
  // Identity, then flips of z (x[1][0][0] = 12), y (x[0][2][0] = 8), x (x[0][0][3] = 3), ...
  EXPECT_EQ(first_values[0][0], 0.0f);
  EXPECT_EQ(first_values[1][0], 12.0f);
  EXPECT_EQ(first_values[2][0], 8.0f);
  EXPECT_EQ(first_values[3][0], 3.0f);
  EXPECT_EQ(first_values[7][0], 23.0f);
  // An identity network flipped back gives 8 times the input.
  EXPECT_TRUE(torch::allclose(sum, 8 * x));
}

// Batching the mirrored copies into fewer network calls changes nothing but the calls.
TEST(Mirroring, GroupedCallsGiveTheSameSumAsOneByOne) {
  torch::manual_seed(3);
  const at::Tensor weight = torch::randn({3, 2, 3, 3, 3});
  std::vector<int64_t> call_batches;
  const LogitsFunction net = [&](const at::Tensor& x) {
    call_batches.push_back(x.size(0));
    return torch::conv3d(x, weight, {}, 1, 1);
  };
  const at::Tensor x = torch::randn({2, 2, 4, 5, 6});
  const at::Tensor one_by_one = predict_mirrored_sum(net, x, {0, 1, 2});
  EXPECT_EQ(call_batches, std::vector<int64_t>(8, 2));
  for (const int64_t group : {2, 3, 8, 16}) {
    call_batches.clear();
    const at::Tensor grouped = predict_mirrored_sum(net, x, {0, 1, 2}, group);
    EXPECT_TRUE(torch::allclose(grouped, one_by_one, 1e-4, 1e-5)) << group;
    EXPECT_EQ(call_batches.size(), static_cast<size_t>((8 + std::min<int64_t>(group, 8) - 1) /
                                                       std::min<int64_t>(group, 8)));
    EXPECT_EQ(call_batches.front(), 2 * std::min<int64_t>(group, 8));
  }
  EXPECT_THROW(predict_mirrored_sum(net, x, {0}, 0), Error);
}

TEST(Mirroring, AutomaticGroupKeepsACallUnderTheVoxelBudget) {
  EXPECT_EQ(automatic_mirror_group(40 * 56 * 40, 8), 2);     // Hippocampus patch: two at once
  EXPECT_EQ(automatic_mirror_group(128 * 128 * 128, 8), 1);  // a large patch: one by one
  EXPECT_EQ(automatic_mirror_group(kMirrorGroupVoxels / 2 + 1, 8), 1);  // two would exceed it
  EXPECT_EQ(automatic_mirror_group(kMirrorGroupVoxels / 2, 8), 2);
  EXPECT_EQ(automatic_mirror_group(1000, 1), 1);  // no mirroring
}

TEST(Mirroring, SymmetricModelGivesTheSameLogitsAsWithoutMirroring) {
  // A 3x3x3 mean filter is symmetric under every flip.
  const LogitsFunction net = [](const at::Tensor& x) {
    return torch::avg_pool3d(x, {3, 3, 3}, {1, 1, 1}, {1, 1, 1});
  };
  const at::Tensor x = torch::rand({2, 1, 5, 6, 7}, torch::TensorOptions(torch::kFloat));
  const at::Tensor plain = predict_mirrored_sum(net, x, {});
  const at::Tensor mirrored = predict_mirrored_sum(net, x, {0, 1, 2});
  EXPECT_TRUE(torch::allclose(mirrored / 8, plain, 1e-6, 1e-6));
}

TEST(Mirroring, AveragesAPositionDependentModel) {
  // Logits = the x index within the tile: mirrored along x and flipped back it becomes
  // (n - 1 - index), so the average over both is (n - 1) / 2 everywhere.
  const LogitsFunction ramp = [](const at::Tensor& x) {
    return torch::arange(x.size(4), torch::kFloat).expand(x.sizes()).clone();
  };
  const at::Tensor x = torch::zeros({1, 1, 2, 2, 6});
  const at::Tensor sum = predict_mirrored_sum(ramp, x, {2});
  EXPECT_TRUE(torch::allclose(sum / 2, torch::full(x.sizes(), 2.5)));
  // Mirroring along y only leaves the x ramp as it is.
  EXPECT_TRUE(torch::allclose(predict_mirrored_sum(ramp, x, {1}) / 2, ramp(x)));
}

TEST(Mirroring, AliasedNetworkOutputDoesNotChangeTheInput) {
  const LogitsFunction identity = [](const at::Tensor& x) { return x; };
  const at::Tensor x = torch::ones({1, 1, 2, 2, 2});
  predict_mirrored_sum(identity, x, {0});
  EXPECT_TRUE(torch::equal(x, torch::ones({1, 1, 2, 2, 2})));
}

}  // namespace
}  // namespace medseg
