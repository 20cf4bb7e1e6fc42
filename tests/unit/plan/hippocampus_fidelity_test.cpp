// Fidelity with the reference system on the real Hippocampus data (200 cases): its fingerprint
// and plans (nnU-Net v2.5.2, default planner, 8 GB) are in shared/reference. Skips cleanly when
// the data is not there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/files.h"
#include "medseg/io/dataset.h"
#include "medseg/plan/fingerprint.h"
#include "medseg/plan/planner.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using V = std::vector<int>;

const fs::path kData = fs::path(MEDSEG_SHARED_DIR) / "data" / "Dataset004_Hippocampus";
const fs::path kReference = fs::path(MEDSEG_SHARED_DIR) / "reference" / "Dataset004_Hippocampus";

#define SKIP_WITHOUT_HIPPOCAMPUS()                                                         \
  if (!fs::exists(kData / "dataset.json") || !fs::exists(kReference / "nnUNetPlans.json")) \
  GTEST_SKIP() << "Hippocampus data or reference not found under " << MEDSEG_SHARED_DIR

// The brief's numbers, and every value the reference's nnUNetPlans.json holds for the
// configuration.
void expect_reference_plans(const Plans& plans) {
  const ConfigurationPlan& full = plans.configuration("3d_fullres");
  EXPECT_THAT(full.spacing, ElementsAre(1, 1, 1));
  EXPECT_THAT(full.patch_size, ElementsAre(40, 56, 40));
  EXPECT_EQ(full.batch_size, 7);
  EXPECT_THAT(full.architecture.features_per_stage, ElementsAre(32, 64, 128, 256));
  EXPECT_THAT(full.architecture.strides,
              ElementsAre(V{1, 1, 1}, V{2, 2, 2}, V{2, 2, 2}, V{2, 2, 2}));
  EXPECT_EQ(full.architecture.kernel_sizes, std::vector<std::vector<int>>(4, V{3, 3, 3}));
  EXPECT_THAT(full.normalization_schemes, ElementsAre("ZScoreNormalization"));
  EXPECT_THAT(full.use_mask_for_norm, ElementsAre(false));
  EXPECT_FALSE(full.batch_dice);
  const ConfigurationPlan& flat = plans.configuration("2d");
  EXPECT_THAT(flat.spacing, ElementsAre(1, 1));
  EXPECT_THAT(flat.patch_size, ElementsAre(56, 40));
  EXPECT_EQ(flat.batch_size, 287);
  EXPECT_THAT(flat.architecture.features_per_stage, ElementsAre(32, 64, 128, 256));
  EXPECT_THAT(flat.architecture.strides, ElementsAre(V{1, 1}, V{2, 2}, V{2, 2}, V{2, 2}));
  EXPECT_EQ(flat.architecture.kernel_sizes, std::vector<std::vector<int>>(4, V{3, 3}));
  EXPECT_TRUE(flat.batch_dice);
  EXPECT_EQ(plans.configurations.size(), 2u);  // no 3d_lowres

  const nlohmann::json reference = read_json(kReference / "nnUNetPlans.json");
  EXPECT_EQ(nlohmann::json(plans.transpose_forward), reference["transpose_forward"]);
  EXPECT_EQ(nlohmann::json(plans.original_median_shape_after_transp),
            reference["original_median_shape_after_transp"]);
  for (const char* name : {"2d", "3d_fullres"}) {
    SCOPED_TRACE(name);
    const nlohmann::json& r = reference["configurations"][name];
    const ConfigurationPlan& c = plans.configuration(name);
    const nlohmann::json& arch = r["architecture"]["arch_kwargs"];
    EXPECT_EQ(nlohmann::json(c.patch_size), r["patch_size"]);
    EXPECT_EQ(nlohmann::json(c.batch_size), r["batch_size"]);
    EXPECT_EQ(nlohmann::json(c.spacing), r["spacing"]);
    EXPECT_EQ(nlohmann::json(c.median_image_size_in_voxels), r["median_image_size_in_voxels"]);
    EXPECT_EQ(nlohmann::json(c.normalization_schemes), r["normalization_schemes"]);
    EXPECT_EQ(nlohmann::json(c.use_mask_for_norm), r["use_mask_for_norm"]);
    EXPECT_EQ(nlohmann::json(c.batch_dice), r["batch_dice"]);
    EXPECT_EQ(nlohmann::json(c.architecture.n_stages), arch["n_stages"]);
    EXPECT_EQ(nlohmann::json(c.architecture.features_per_stage), arch["features_per_stage"]);
    EXPECT_EQ(nlohmann::json(c.architecture.kernel_sizes), arch["kernel_sizes"]);
    EXPECT_EQ(nlohmann::json(c.architecture.strides), arch["strides"]);
    EXPECT_EQ(nlohmann::json(c.architecture.n_conv_per_stage), arch["n_conv_per_stage"]);
    EXPECT_EQ(nlohmann::json(c.architecture.n_conv_per_stage_decoder),
              arch["n_conv_per_stage_decoder"]);
  }
}

TEST(HippocampusFidelity, PlansFromTheReferenceFingerprint) {
  SKIP_WITHOUT_HIPPOCAMPUS();
  const DatasetFingerprint reference = read_fingerprint(kReference / "dataset_fingerprint.json");
  expect_reference_plans(plan_experiment(reference, read_dataset_json(kData / "dataset.json")));
}

// Relative difference, for statistics of a random sample.
double relative(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(b), 1e-12);
}

TEST(HippocampusFidelity, FingerprintAndPlansFromTheImages) {
  SKIP_WITHOUT_HIPPOCAMPUS();
  const DatasetInfo info = read_dataset_json(kData / "dataset.json");
  const DatasetFingerprint ours =
      extract_fingerprint(training_cases(kData, info), info.num_channels());
  const DatasetFingerprint reference = read_fingerprint(kReference / "dataset_fingerprint.json");
  // Cases in the same (sorted) order: spacing and cropped shape exactly.
  EXPECT_EQ(ours.spacings, reference.spacings);
  EXPECT_EQ(ours.shapes_after_crop, reference.shapes_after_crop);
  EXPECT_DOUBLE_EQ(ours.median_relative_size_after_cropping,
                   reference.median_relative_size_after_cropping);
  const IntensityProperties& a = ours.foreground_intensity_properties_per_channel.at(0);
  const IntensityProperties& b = reference.foreground_intensity_properties_per_channel.at(0);
  // 500,000 draws per case from a few thousand foreground voxels each: every voxel is drawn,
  // so min and max are the population's; the rest agree to sampling error (well below 0.1%).
  EXPECT_DOUBLE_EQ(a.min, b.min);
  EXPECT_DOUBLE_EQ(a.max, b.max);
  EXPECT_LT(relative(a.mean, b.mean), 1e-3);
  EXPECT_LT(relative(a.std, b.std), 1e-3);
  EXPECT_LT(relative(a.median, b.median), 1e-3);
  EXPECT_LT(relative(a.percentile_00_5, b.percentile_00_5), 1e-3);
  EXPECT_LT(relative(a.percentile_99_5, b.percentile_99_5), 1e-3);
  expect_reference_plans(plan_experiment(ours, info));
}

}  // namespace
}  // namespace medseg
