#include "medseg/data/training_batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "unit/data/synthetic_cases.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

ConfigurationPlan small_plan() {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.batch_size = 3;
  c.patch_size = {16, 16, 8};
  c.use_mask_for_norm = {true};
  c.architecture.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}, {2, 2, 1}};
  return c;
}

std::shared_ptr<InMemoryCaseSource> two_cases() {
  std::vector<TrainingCase> cases;
  cases.push_back(testing::box_case("a", {20, 24, 12}, {4, 4, 4}, {10, 10, 8}, 1));
  cases.push_back(testing::box_case("b", {18, 20, 10}, {2, 12, 2}, {8, 16, 6}, 2));
  return std::make_shared<InMemoryCaseSource>(std::move(cases));
}

TEST(TrainingBatch, OptionsFollowThePlan) {
  const BatchOptions o = training_batch_options(small_plan(), {}, /*deep_supervision=*/true);
  EXPECT_EQ(o.batch_size, 3);
  EXPECT_EQ(o.sampler.patch_size, (std::vector<int64_t>{16, 16, 8}));
  EXPECT_EQ(o.sampler.sampled_size, sampled_patch_size(o.augmentation, {16, 16, 8}));
  EXPECT_GT(o.sampler.sampled_size[0], 16);
  EXPECT_DOUBLE_EQ(o.sampler.oversample_foreground, 0.33);
  EXPECT_EQ(o.mask_channels, (std::vector<int64_t>{0}));
  EXPECT_EQ(o.target_scales.size(), 3u);
  const BatchOptions v = validation_batch_options(small_plan(), /*deep_supervision=*/false);
  EXPECT_EQ(v.sampler.sampled_size, (std::vector<int64_t>{16, 16, 8}));
  EXPECT_TRUE(v.mask_channels.empty());
  EXPECT_TRUE(v.target_scales.empty());
  EXPECT_EQ(v.augmentation.mirror.axes.size(), 0u);
}

TEST(TrainingBatch, MasksOnlyTheChannelsNormalizedInsideTheMask) {
  // batchgeneratorsv2 0.3's MaskImageTransform masks its apply_to_channels (0.2 masked every
  // channel): a channel normalized without the mask keeps its values, as at inference.
  ConfigurationPlan plan = small_plan();
  plan.use_mask_for_norm = {false, true, false};
  EXPECT_EQ(training_batch_options(plan, {}, false).mask_channels, (std::vector<int64_t>{1}));
  plan.use_mask_for_norm = {false, false};
  EXPECT_TRUE(training_batch_options(plan, {}, false).mask_channels.empty());
}

TEST(TrainingBatch, MakesPatchesAndDeepSupervisionTargets) {
  const auto source = two_cases();
  const BatchOptions o = training_batch_options(small_plan(), {}, true);
  const Batch batch = make_batch(*source, o, /*seed=*/1, /*index=*/0);
  ASSERT_TRUE(batch.finished());
  EXPECT_EQ(batch.data.sizes(), (std::vector<int64_t>{3, 1, 16, 16, 8}));
  ASSERT_EQ(batch.targets.size(), 3u);
  EXPECT_EQ(batch.targets[0].sizes(), (std::vector<int64_t>{3, 1, 16, 16, 8}));
  EXPECT_EQ(batch.targets[1].sizes(), (std::vector<int64_t>{3, 1, 8, 8, 4}));
  EXPECT_EQ(batch.targets[2].sizes(), (std::vector<int64_t>{3, 1, 4, 4, 2}));
  EXPECT_TRUE(torch::equal(
      batch.targets[1], batch.targets[0].slice(2, 1, 16, 2).slice(3, 1, 16, 2).slice(4, 1, 8, 2)));
  EXPECT_EQ(batch.case_ids.size(), 3u);
  for (const auto& t : batch.targets) EXPECT_GE(t.min().item<int>(), 0);
  // The last sample is forced onto foreground; its centre voxel is labelled unless a spatial
  // transform moved it, so at least check the patch saw foreground.
  EXPECT_GT(batch.targets[0][2].gt(0).sum().item<int64_t>(), 0);
  EXPECT_FALSE(batch.seg.defined());
}

TEST(TrainingBatch, MasksOutsideTheBodyAndMapsMinusOneToBackground) {
  TrainingCase c = testing::box_case("m", {8, 8, 8}, {0, 0, 0}, {0, 0, 0});
  c.data.fill_(5.0);
  c.seg[0].narrow(0, 0, 4).fill_(-1);  // the first half lies outside the body
  std::vector<TrainingCase> cases{c};
  InMemoryCaseSource source(std::move(cases));
  BatchOptions o;
  o.batch_size = 1;
  o.sampler.patch_size = o.sampler.sampled_size = {8, 8, 8};
  o.mask_channels = {0};
  const Batch masked = make_batch(source, o, 0, 0);
  EXPECT_EQ(masked.data[0][0].narrow(0, 0, 4).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(masked.data[0][0].narrow(0, 4, 4).min().item<float>(), 5.0f);
  EXPECT_EQ(masked.targets[0].max().item<int>(), 0);
  EXPECT_EQ(masked.targets[0].min().item<int>(), 0);
  o.mask_channels.clear();
  const Batch unmasked = make_batch(source, o, 0, 0);
  EXPECT_EQ(unmasked.data.min().item<float>(), 5.0f);
}

TEST(TrainingBatch, PaddingReachesTheLossAsBackgroundWithZeroImage) {
  std::vector<TrainingCase> cases{testing::box_case("small", {4, 4, 4}, {0, 0, 0}, {4, 4, 4}, 1)};
  InMemoryCaseSource source(std::move(cases));
  BatchOptions o;
  o.batch_size = 2;
  o.sampler.patch_size = o.sampler.sampled_size = {8, 8, 8};
  const Batch b = make_batch(source, o, 3, 0);
  // 64 voxels of the case; the rest is padding: image 0, target background.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(b.targets[0][i].sum().item<int64_t>(), 64);
    EXPECT_EQ(b.data[i].gt(0).sum().item<int64_t>(), 63);  // image values 0..63, one is 0
  }
}

TEST(TrainingBatch, IsSeededByBatchIndex) {
  const auto source = two_cases();
  const BatchOptions o = training_batch_options(small_plan(), {}, false);
  const Batch a = make_batch(*source, o, 5, 4), b = make_batch(*source, o, 5, 4);
  const Batch c = make_batch(*source, o, 5, 5);
  EXPECT_TRUE(torch::equal(a.data, b.data));
  EXPECT_TRUE(torch::equal(a.targets[0], b.targets[0]));
  EXPECT_FALSE(torch::equal(a.data, c.data));
}

TEST(TrainingBatch, SplitStepsGiveTheSameBatch) {
  const auto source = two_cases();
  const BatchOptions o = training_batch_options(small_plan(), {}, true);
  Batch sampled = sample_batch(*source, o, 9, 2);
  EXPECT_FALSE(sampled.finished());
  EXPECT_EQ(sampled.seg.scalar_type(), torch::kShort);
  EXPECT_EQ(sampled.data.size(2), o.sampler.sampled_size[0]);
  finish_batch(sampled, o);
  const Batch whole = make_batch(*source, o, 9, 2);
  EXPECT_TRUE(torch::equal(sampled.data, whole.data));
  try {
    finish_batch(sampled, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("batch 2 is already finished"));
  }
}

TEST(TrainingBatch, RejectsCasesWithDifferentChannelCounts) {
  std::vector<TrainingCase> cases{testing::box_case("one", {8, 8, 8}, {1, 1, 1}, {2, 2, 2})};
  TrainingCase two = testing::box_case("two", {8, 8, 8}, {1, 1, 1}, {2, 2, 2});
  two.data = torch::cat({two.data, two.data});
  cases.push_back(two);
  InMemoryCaseSource source(std::move(cases));
  BatchOptions o;
  o.batch_size = 8;
  o.sampler.patch_size = o.sampler.sampled_size = {4, 4, 4};
  EXPECT_THAT([&] { make_batch(source, o, 0, 0); },
              ::testing::ThrowsMessage<Error>(HasSubstr("channels, other cases have")));
}

// A cascade case: the previous stage's segmentation is the case's labels, plus label 2 on the
// background voxels whose image value (the flat index) is even and > 0, so that patches can
// be checked against their own image channel wherever the sampler placed them.
TEST(TrainingBatch, CascadeBatchesAppendThePreviousStageOneHot) {
  TrainingCase c = testing::box_case("a", {12, 12, 12}, {3, 3, 3}, {9, 9, 9}, 1);
  const at::Tensor index = c.data.to(at::kLong);
  c.previous_stage = c.seg.masked_fill((index % 2 == 0) & (index > 0) & (c.seg == 0), 2).clone();
  InMemoryCaseSource source({c});
  BatchOptions o;
  o.batch_size = 2;
  o.sampler.patch_size = o.sampler.sampled_size = {12, 12, 12};
  o.previous_stage_values = {1, 2};
  const Batch batch = make_batch(source, o, 0, 0);
  ASSERT_EQ(batch.data.sizes(), (std::vector<int64_t>{2, 3, 12, 12, 12}));
  // No augmentation: the one-hot channels are exactly the previous stage's labels.
  for (int64_t b = 0; b < 2; ++b) {
    const at::Tensor image = batch.data[b][0].to(at::kLong), target = batch.targets[0][b][0];
    EXPECT_TRUE(torch::equal(batch.data[b][1], target.eq(1).to(at::kFloat)));
    EXPECT_TRUE(torch::equal(batch.data[b][2],
                             ((image % 2 == 0) & (image > 0) & (target == 0)).to(at::kFloat)));
  }
  // With the reference's augmentation the one-hot channels stay 0/1 and disjoint.
  o.cascade = CascadeAugmentationOptions{};
  o.cascade.p_binary_operator = o.cascade.p_remove_component = 1.0;
  const Batch augmented = make_batch(source, o, 0, 1);
  const at::Tensor onehot = augmented.data.narrow(1, 1, 2);
  EXPECT_TRUE(torch::equal(onehot, onehot.round()));
  EXPECT_LE(onehot.sum(1).max().item<double>(), 1.0);
  // A cascade batch from cases without a previous stage, and the other way round.
  InMemoryCaseSource plain({testing::box_case("b", {12, 12, 12}, {3, 3, 3}, {9, 9, 9}, 1)});
  EXPECT_THAT(
      [&] { make_batch(plain, o, 0, 0); },
      ::testing::ThrowsMessage<Error>(HasSubstr("needs the previous stage's segmentation")));
  o.previous_stage_values.clear();
  EXPECT_THAT([&] { make_batch(source, o, 0, 0); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no cascade stage")));
  TrainingCase bad = c;
  bad.previous_stage = c.previous_stage.narrow(1, 0, 4).clone();
  EXPECT_THAT([&] { InMemoryCaseSource s({bad}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("previous stage's segmentation must be")));
}

}  // namespace
}  // namespace medseg
