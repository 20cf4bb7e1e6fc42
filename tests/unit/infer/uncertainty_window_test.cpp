// The uncertainty maps of the sliding window (sliding_window.h, qa/uncertainty.h): members that
// agree give no mutual information, members that disagree do, and the entropy is that of the
// averaged probabilities.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/infer/sliding_window.h"

namespace medseg {
namespace {

SlidingWindowOptions uncertainty_window(bool mirroring) {
  SlidingWindowOptions o;
  o.patch_size = {8, 8, 8};
  o.mirroring = mirroring;
  return o;
}

// Two classes with logits (0, x): per voxel, so every mirrored copy and tile agrees.
at::Tensor uncertainty_per_voxel(const at::Tensor& x) {
  const at::Tensor c = x.narrow(1, 0, 1);
  return torch::cat({torch::zeros_like(c), c}, 1);
}

TEST(UncertaintyWindow, AgreeingMembersHaveTheEntropyOfTheirProbabilitiesAndNoDisagreement) {
  const at::Tensor data = torch::randn({1, 11, 9, 10}) * 3;
  SlidingWindowUncertainty u;
  const at::Tensor logits =
      predict_sliding_window(data, {uncertainty_per_voxel}, uncertainty_window(true), false, u);
  ASSERT_EQ(u.entropy.sizes(), (std::vector<int64_t>{11, 9, 10}));
  const at::Tensor p = torch::sigmoid(data[0]);  // softmax of (0, x) for class 1
  const at::Tensor expected =
      -(p * p.clamp_min(1e-12).log() + (1 - p) * (1 - p).clamp_min(1e-12).log()) / std::log(2.0);
  EXPECT_TRUE(torch::allclose(u.entropy, expected, 1e-4, 1e-5));
  EXPECT_LT(u.mutual_information.max().item<float>(), 1e-4);
  EXPECT_TRUE(torch::allclose(logits[1], data[0], 1e-5, 1e-5));
}

TEST(UncertaintyWindow, DisagreeingFoldsAreMaximallyUncertainWhereEachIsSure) {
  // Fold A says class 1 with logit 10, fold B class 0: the average is a coin toss (entropy 1)
  // that no member believes (member entropy ~0): mutual information ~1.
  const LogitsFunction sure_one = [](const at::Tensor& x) {
    return torch::cat({torch::zeros_like(x), torch::full_like(x, 10)}, 1);
  };
  const LogitsFunction sure_zero = [](const at::Tensor& x) {
    return torch::cat({torch::zeros_like(x), torch::full_like(x, -10)}, 1);
  };
  SlidingWindowUncertainty u;
  predict_sliding_window(torch::zeros({1, 9, 9, 9}), {sure_one, sure_zero},
                         uncertainty_window(false), false, u);
  EXPECT_NEAR(u.entropy.min().item<float>(), 1.0, 1e-5);
  EXPECT_NEAR(u.mutual_information.min().item<float>(), 1.0, 1e-2);
}

TEST(UncertaintyWindow, MirroredCopiesThatDisagreeAddMutualInformationOnlyWithMirroring) {
  // Logits (0, 4 * (position along x - centre)): a flipped copy predicts the opposite side.
  const LogitsFunction ramp = [](const at::Tensor& x) {
    const int64_t n = x.size(4);
    const at::Tensor r = (torch::arange(n, torch::kFloat) - (n - 1) / 2.0) * 4;
    const at::Tensor c = r.expand({x.size(0), 1, x.size(2), x.size(3), n});
    return torch::cat({torch::zeros_like(c), c}, 1);
  };
  SlidingWindowUncertainty plain, mirrored;
  const at::Tensor data = torch::zeros({1, 8, 8, 8});
  predict_sliding_window(data, {ramp}, uncertainty_window(false), false, plain);
  predict_sliding_window(data, {ramp}, uncertainty_window(true), false, mirrored);
  EXPECT_LT(plain.mutual_information.max().item<float>(), 1e-5);
  EXPECT_GT(mirrored.mutual_information.mean().item<float>(), 0.5);
}

TEST(UncertaintyWindow, RegionsUseTheSigmoid) {
  const LogitsFunction regions = [](const at::Tensor& x) {
    return torch::cat({torch::zeros_like(x), torch::full_like(x, 20)}, 1);  // p = 0.5 and ~1
  };
  SlidingWindowUncertainty u;
  predict_sliding_window(torch::zeros({1, 8, 8, 8}), {regions}, uncertainty_window(false), true, u);
  EXPECT_NEAR(u.entropy.mean().item<float>(), 0.5, 1e-4);  // (1 + 0) / 2 regions
}

}  // namespace
}  // namespace medseg
