// The planner on hand-built fingerprints (no image files). Expected values are worked out from
// the reference's rules; the derivations are in the comments.
#include "medseg/plan/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "medseg/core/error.h"
#include "medseg/plan/configuration_planner.h"
#include "medseg/plan/feature_map_size.h"

namespace medseg {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using V = std::vector<int>;

DatasetInfo dataset(const std::vector<std::string>& channels, int classes,
                    nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json j = {{"name", "Test"}, {"numTraining", 3}, {"file_ending", ".nii.gz"}};
  for (size_t c = 0; c < channels.size(); ++c) j["channel_names"][std::to_string(c)] = channels[c];
  j["labels"]["background"] = 0;
  for (int l = 1; l < classes; ++l) j["labels"]["class" + std::to_string(l)] = l;
  j.update(extra);
  return parse_dataset_json(j, "dataset.json");
}

DatasetFingerprint fingerprint(std::vector<std::vector<double>> spacings,
                               std::vector<std::vector<int64_t>> shapes, int channels = 1,
                               double relative_size = 1.0) {
  DatasetFingerprint f;
  f.spacings = std::move(spacings);
  f.shapes_after_crop = std::move(shapes);
  f.median_relative_size_after_cropping = relative_size;
  f.foreground_intensity_properties_per_channel.resize(static_cast<size_t>(channels));
  return f;
}

// 3 CT cases, 512 x 512 in-plane at 0.8 mm, 290 / 300 / 310 slices at 1.0 mm: (z, y, x).
DatasetFingerprint ct_fingerprint() {
  return fingerprint({{1.0, 0.8, 0.8}, {1.0, 0.8, 0.8}, {1.0, 0.8, 0.8}},
                     {{290, 512, 512}, {300, 512, 512}, {310, 512, 512}});
}

TEST(Planner, IsotropicCtLikeDataset) {
  const Plans plans = plan_experiment(ct_fingerprint(), dataset({"CT"}, 2));
  // Spacing (1.0, 0.8, 0.8) is not anisotropic (1.0 < 3 x 0.8): the medians; z is the coarsest
  // axis and already first. Median shape (300, 512, 512).
  EXPECT_THAT(plans.transpose_forward, ElementsAre(0, 1, 2));
  EXPECT_THAT(plans.original_median_shape_after_transp, ElementsAre(300, 512, 512));
  EXPECT_THAT(plans.configurations, testing::SizeIs(4));
  const ConfigurationPlan& full = plans.configuration("3d_fullres");
  EXPECT_THAT(full.spacing, ElementsAre(1.0, 0.8, 0.8));
  // Initial patch: 256^3 voxels with edges proportional to 1/spacing = (220.6, 275.8, 275.8)
  // -> (221, 276, 276), padded to (224, 320, 320); its feature-map count is 4.93e9 > 560e6. The
  // loop shrinks the axis with the largest patch / median ratio by one divisibility step, 13
  // times: ... (112, 160, 160) 616,246,400 -> (96, 160, 160) 528,211,200 <= 560e6.
  EXPECT_THAT(full.patch_size, ElementsAre(96, 160, 160));
  EXPECT_EQ(conv_feature_map_size(full.architecture, full.patch_size, 2), 528211200);
  // Batch: round(560e6 / 528,211,200 x 2) = 2; 5% cap round(0.05 x 300 x 512^2 x 3 / 2,457,600)
  // = 5.
  EXPECT_EQ(full.batch_size, 2);
  // (96, 160, 160): pools all axes 4 times (96 -> 6 and 160 -> 10), then y and x once more.
  EXPECT_THAT(full.architecture.strides,
              ElementsAre(V{1, 1, 1}, V{2, 2, 2}, V{2, 2, 2}, V{2, 2, 2}, V{2, 2, 2}, V{1, 2, 2}));
  EXPECT_THAT(full.architecture.features_per_stage, ElementsAre(32, 64, 128, 256, 320, 320));
  EXPECT_EQ(full.architecture.kernel_sizes, std::vector<std::vector<int>>(6, V{3, 3, 3}));
  EXPECT_THAT(full.architecture.n_conv_per_stage, ElementsAre(2, 2, 2, 2, 2, 2));
  EXPECT_THAT(full.normalization_schemes, ElementsAre("CTNormalization"));
  EXPECT_THAT(full.use_mask_for_norm, ElementsAre(false));
  // The patch covers 2,457,600 / 78,643,200 = 3% < 25% of the median image: 3d_lowres exists.
  EXPECT_TRUE(full.batch_dice);

  // Lowres: no axis is 2x finer than the coarsest, so all grow by 1.03 per step. After 24 steps
  // the median image is (300, 512, 512) / 1.03^24 = (147.6, 251.9, 251.9) and the patch,
  // again (96, 160, 160), covers 26% of it. 78.6M / 9.36M voxels >= 2: kept.
  const ConfigurationPlan& low = plans.configuration("3d_lowres");
  const double f = std::pow(1.03, 24);
  EXPECT_THAT(low.spacing, ElementsAre(DoubleNear(f, 1e-9), DoubleNear(0.8 * f, 1e-9),
                                       DoubleNear(0.8 * f, 1e-9)));
  EXPECT_THAT(low.median_image_size_in_voxels, ElementsAre(148, 252, 252));
  EXPECT_THAT(low.patch_size, ElementsAre(96, 160, 160));
  EXPECT_EQ(low.batch_size, 2);  // cap round(0.05 x 9.36M x 3 / 2.46M) = 1, at least 2
  EXPECT_FALSE(low.batch_dice);
  EXPECT_EQ(low.next_stage, std::optional<std::string>("3d_cascade_fullres"));
  EXPECT_NE(low.data_identifier, full.data_identifier);

  const ConfigurationPlan& cascade = plans.configuration("3d_cascade_fullres");
  EXPECT_EQ(cascade.previous_stage, std::optional<std::string>("3d_lowres"));
  EXPECT_EQ(cascade.patch_size, full.patch_size);
  EXPECT_EQ(cascade.data_identifier, full.data_identifier);

  // 2D: spacing (0.8, 0.8), patch 2048^2 clipped to (512, 512); 7 pools, features up to 512;
  // 82,624,512 / 12 x 2 < 85e6; batch round(85e6 / 82,624,512 x 12) = 12 (cap 45).
  const ConfigurationPlan& flat = plans.configuration("2d");
  EXPECT_THAT(flat.patch_size, ElementsAre(512, 512));
  EXPECT_EQ(flat.batch_size, 12);
  EXPECT_THAT(flat.architecture.features_per_stage,
              ElementsAre(32, 64, 128, 256, 512, 512, 512, 512));
  EXPECT_TRUE(flat.batch_dice);
}

TEST(Planner, StronglyAnisotropicDataset) {
  // 5 cases of 20 slices at 4 / 5 / 5 / 5 / 6 mm, 256 x 256 at 0.7 mm.
  const auto fp =
      fingerprint({{4, 0.7, 0.7}, {5, 0.7, 0.7}, {5, 0.7, 0.7}, {5, 0.7, 0.7}, {6, 0.7, 0.7}},
                  std::vector<std::vector<int64_t>>(5, {20, 256, 256}), 1, 0.6);
  const Plans plans = plan_experiment(fp, dataset({"T2"}, 3));
  // z: 10th percentile rule -> 4.4 mm. Resampled slices 20 x s / 4.4 = 18, 23, 23, 23, 27:
  // median (23, 256, 256). Initial patch (75, 473, 473) clipped to (23, 256, 256).
  const ConfigurationPlan& full = plans.configuration("3d_fullres");
  EXPECT_THAT(full.spacing, ElementsAre(DoubleNear(4.4, 1e-12), 0.7, 0.7));
  EXPECT_THAT(full.median_image_size_in_voxels, ElementsAre(23, 256, 256));
  // Topology as in NetworkTopology.CoarseAxisWaitsUntilWithinTwiceTheFinestSpacing: (24, 256,
  // 256), 7 stages; 463,982,592 <= 560e6, no shrinking. Batch round(560e6 / 463,982,592 x 2) = 2.
  EXPECT_THAT(full.patch_size, ElementsAre(24, 256, 256));
  EXPECT_THAT(full.architecture.kernel_sizes[0], ElementsAre(1, 3, 3));
  EXPECT_THAT(full.architecture.strides[1], ElementsAre(1, 2, 2));
  EXPECT_EQ(full.batch_size, 2);
  // The patch covers the whole median image: no 3d_lowres, fullres batch Dice off.
  EXPECT_EQ(plans.configurations.count("3d_lowres"), 0u);
  EXPECT_EQ(plans.configurations.count("3d_cascade_fullres"), 0u);
  EXPECT_FALSE(full.batch_dice);
  // Median relative size after crop 0.6 < 0.75: z-score normalizes within the nonzero mask.
  EXPECT_THAT(full.normalization_schemes, ElementsAre("ZScoreNormalization"));
  EXPECT_THAT(full.use_mask_for_norm, ElementsAre(true));
  // 2D (256, 256): 6 pools, 7 stages; batch round(85e6 / 20,692,992 x 12) = 49 capped at
  // round(0.05 x 23 x 256^2 x 5 / 65,536) = 6.
  const ConfigurationPlan& flat = plans.configuration("2d");
  EXPECT_THAT(flat.patch_size, ElementsAre(256, 256));
  EXPECT_EQ(flat.batch_size, 6);
}

TEST(Planner, TwoDimensionalDataset) {
  // 2D images are recorded with one slice of spacing 999: target (999, 1, 1) (the 10th
  // percentile of 999 is 999, not below the others), median (1, 320, 256): no 3D configuration.
  const auto fp = fingerprint(std::vector<std::vector<double>>(4, {999, 1, 1}),
                              {{1, 320, 256}, {1, 320, 256}, {1, 300, 240}, {1, 340, 270}});
  const Plans plans = plan_experiment(fp, dataset({"rescale_to_0_1"}, 2));
  ASSERT_THAT(plans.configurations, testing::SizeIs(1));
  const ConfigurationPlan& flat = plans.configuration("2d");
  // (320, 256): 6 pools per axis -> divisible by 64 already; 7 stages.
  EXPECT_THAT(flat.patch_size, ElementsAre(320, 256));
  EXPECT_THAT(flat.spacing, ElementsAre(1, 1));
  EXPECT_EQ(flat.architecture.n_stages, 7);
  // Memory would allow round(85e6 / 25,784,320 x 12) = 40; 5% of 4 images is 0: minimum 2.
  EXPECT_EQ(flat.batch_size, 2);
  EXPECT_THAT(flat.normalization_schemes, ElementsAre("RescaleTo01Normalization"));
  EXPECT_THAT(flat.use_mask_for_norm, ElementsAre(false));
  EXPECT_TRUE(flat.batch_dice);
}

TEST(Planner, MedianShapeSmallerThanTheInitialPatch) {
  // Median (30.5, 40.5, 50.5) at 1 mm is below 256^3: the patch is the median, pooled 3 times per
  // axis and padded to multiples of 8: 30.5 -> 32, 40.5 -> 48, 50.5 -> 56.
  const auto fp = fingerprint({{1, 1, 1}, {1, 1, 1}}, {{30, 40, 50}, {31, 41, 51}}, 2);
  const Plans plans = plan_experiment(fp, dataset({"MRI", "noNorm"}, 2));
  const ConfigurationPlan& full = plans.configuration("3d_fullres");
  EXPECT_THAT(full.patch_size, ElementsAre(32, 48, 56));
  EXPECT_EQ(full.architecture.n_stages, 4);
  EXPECT_EQ(full.batch_size, 2);  // memory allows 61, 5% of 2 cases rounds to 0
  EXPECT_THAT(plans.configuration("2d").patch_size, ElementsAre(48, 56));
  EXPECT_THAT(full.normalization_schemes, ElementsAre("ZScoreNormalization", "NoNormalization"));
  EXPECT_THAT(plans.original_median_shape_after_transp,
              ElementsAre(30, 40, 50));  // 30.5 -> 30 (half to even)
}

TEST(Planner, LargeAnisotropicDatasetGrowsTheFineAxesFirstForLowres) {
  // 2.5 mm slices (200 of them) and 0.8 mm in-plane: 2.5 > 3 x 0.8 but 200 x 3 >= 512, so the
  // median spacing stays. Fullres patch (64, 192, 160) (x shrinks first on ties).
  const auto fp = fingerprint(std::vector<std::vector<double>>(3, {2.5, 0.8, 0.8}),
                              {{190, 512, 512}, {200, 512, 512}, {210, 512, 512}});
  const Plans plans = plan_experiment(fp, dataset({"CT"}, 4));
  const ConfigurationPlan& full = plans.configuration("3d_fullres");
  EXPECT_THAT(full.patch_size, ElementsAre(64, 192, 160));
  EXPECT_THAT(full.architecture.kernel_sizes[0], ElementsAre(1, 3, 3));
  EXPECT_THAT(full.architecture.strides[1], ElementsAre(1, 2, 2));
  EXPECT_LE(conv_feature_map_size(full.architecture, full.patch_size, 4), 560e6);
  // Lowres: y and x (2.5 / 0.8 > 2) grow alone until within 2x of z: 0.8 x 1.03^16 = 1.28
  // (16 steps); then all axes together, 9 more steps until the patch covers >= 25%.
  const ConfigurationPlan& low = plans.configuration("3d_lowres");
  EXPECT_THAT(low.spacing, ElementsAre(DoubleNear(2.5 * std::pow(1.03, 9), 1e-9),
                                       DoubleNear(0.8 * std::pow(1.03, 25), 1e-9),
                                       DoubleNear(0.8 * std::pow(1.03, 25), 1e-9)));
  EXPECT_THAT(low.median_image_size_in_voxels, ElementsAre(153, 245, 245));
  EXPECT_THAT(low.patch_size, ElementsAre(96, 160, 160));
  EXPECT_TRUE(full.batch_dice);
}

TEST(Planner, GpuMemoryScalesTheReferenceLinearly) {
  // At 16 GB the reference is 1.12e9: the loop stops 4 steps earlier, at (128, 192, 192) with
  // 1,014,073,344 (the next larger, (128, 224, 192), has 1,183,085,568).
  PlannerOptions options;
  options.gpu_memory_gb = 16;
  const Plans plans = plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options);
  EXPECT_EQ(plans.gpu_memory_target_gb, 16);
  EXPECT_THAT(plans.configuration("3d_fullres").patch_size, ElementsAre(128, 192, 192));
  EXPECT_EQ(plans.configuration("2d").batch_size, 25);  // round(170e6 / 82,624,512 x 12)
}

TEST(Planner, ResidualEncoderPreset) {
  PlannerOptions options;
  options.preset = "resenc-m";
  const Plans plans = plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options);
  EXPECT_EQ(plans.plans_name, "medsegResEncUNetMPlans");
  const ConfigurationPlan& full = plans.configuration("3d_fullres");
  EXPECT_EQ(full.architecture.network, "ResidualEncoderUNet");
  EXPECT_THAT(full.architecture.n_conv_per_stage, ElementsAre(1, 3, 4, 6, 6, 6));
  EXPECT_THAT(full.architecture.n_conv_per_stage_decoder, ElementsAre(1, 1, 1, 1, 1));
  // Shrinks while the count exceeds 680e6: (96, 160, 160) has 651,081,600.
  EXPECT_THAT(full.patch_size, ElementsAre(96, 160, 160));
  EXPECT_EQ(conv_feature_map_size(full.architecture, full.patch_size, 2), 651081600);
  EXPECT_EQ(full.data_identifier, "medsegPlans_3d_fullres");  // shares the default data
  EXPECT_EQ(plans.configuration("3d_lowres").data_identifier, "medsegResEncUNetMPlans_3d_lowres");
  // 2D: round(135e6 / 129,441,792 x 12) = 13, no 5% cap for ResEnc presets.
  EXPECT_EQ(plans.configuration("2d").batch_size, 13);
  options.preset = "resenc-l";
  EXPECT_EQ(plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options).gpu_memory_target_gb,
            24);
}

TEST(Planner, OverwriteTargetSpacing) {
  PlannerOptions options;
  options.overwrite_target_spacing = std::vector<double>{0.8, 3.0, 0.8};  // y becomes the coarsest
  const Plans plans = plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options);
  EXPECT_THAT(plans.transpose_forward, ElementsAre(1, 0, 2));
  EXPECT_THAT(plans.configuration("3d_fullres").spacing, ElementsAre(3.0, 0.8, 0.8));
  // Resampled: y 512 x 0.8 / 3 = 136.53 -> 137, z 300 x 1.0 / 0.8 = 375, x 512; transposed (y, z,
  // x).
  EXPECT_THAT(plans.configuration("3d_fullres").median_image_size_in_voxels,
              ElementsAre(137, 375, 512));
}

TEST(Planner, NormalizationByChannelName) {
  EXPECT_EQ(normalization_scheme("CT"), "CTNormalization");
  EXPECT_EQ(normalization_scheme("ct"), "CTNormalization");
  EXPECT_EQ(normalization_scheme("NONORM"), "NoNormalization");
  EXPECT_EQ(normalization_scheme("zscore"), "ZScoreNormalization");
  EXPECT_EQ(normalization_scheme("Rescale_To_0_1"), "RescaleTo01Normalization");
  EXPECT_EQ(normalization_scheme("T1w"), "ZScoreNormalization");
  EXPECT_THROW(normalization_scheme("rgb_to_0_1"), Error);
}

TEST(Planner, MaskForNormalizationForcedByDatasetJson) {
  DatasetFingerprint fp = ct_fingerprint();  // relative size 1: no mask unless asked for
  fp.foreground_intensity_properties_per_channel.resize(2);
  const Plans plans = plan_experiment(fp, dataset({"T1", "CT"}, 2, {{"use_mask_for_norm", true}}));
  EXPECT_THAT(plans.configuration("2d").use_mask_for_norm,
              ElementsAre(true, false));  // z-score only
}

TEST(Planner, BadInputsGiveClearErrors) {
  PlannerOptions options;
  options.preset = "huge";
  try {
    plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("unknown preset 'huge' (known: default, resenc-m, resenc-l, resenc-xl)"));
  }
  try {
    plan_experiment(ct_fingerprint(), dataset({"CT", "PET"}, 2));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("fingerprint has 1 channel(s) but dataset.json declares 2"));
  }
  options = PlannerOptions{};
  options.overwrite_target_spacing = std::vector<double>{1, 0, 1};
  EXPECT_THROW(plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options), UsageError);
  options = PlannerOptions{};
  options.gpu_memory_gb = 1e-6;
  try {
    plan_experiment(ct_fingerprint(), dataset({"CT"}, 2), options);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is too small for any patch"));
  }
}

TEST(ConfigurationPlanner, InitialPatchFollowsTheSpacing) {
  EXPECT_THAT(initial_patch_size({1, 1, 1}, {300, 300, 300}), ElementsAre(256, 256, 256));
  EXPECT_THAT(initial_patch_size({1.0, 0.8, 0.8}, {1000, 1000, 1000}), ElementsAre(221, 276, 276));
  EXPECT_THAT(initial_patch_size({0.5, 0.5}, {100, 3000}), ElementsAre(100, 2048));
}

}  // namespace
}  // namespace medseg
