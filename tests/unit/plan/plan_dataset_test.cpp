#include "medseg/plan/plan_dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/synthetic_dataset.h"
#include "medseg/plan/plans_summary.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

std::string text_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

SynthOptions tiny() {
  SynthOptions o;
  o.num_training = 3;
  o.shape = {12, 20, 20};
  return o;
}

TEST(PlanDataset, WritesFingerprintPlansAndDatasetJson) {
  testing::TempDir dir;
  write_synthetic_dataset(dir / "Dataset001_Synth", tiny());
  PlanDatasetOptions options;
  options.fingerprint.total_foreground_samples = 30000;  // 1e8 is for real datasets
  const PlanDatasetResult r = plan_dataset(dir / "Dataset001_Synth/", dir / "work", options);
  EXPECT_EQ(text_of(dir / "work" / "dataset.json"),
            text_of(dir / "Dataset001_Synth" / "dataset.json"));
  const Plans plans = read_plans(dir / "work" / "plans.json");
  EXPECT_EQ(plans.dataset_name, "Dataset001_Synth");
  EXPECT_EQ(plans.configurations.count("3d_fullres"), 1u);
  EXPECT_EQ(to_json(plans), to_json(r.plans));
  const DatasetFingerprint fp = read_fingerprint(dir / "work" / "dataset_fingerprint.json");
  EXPECT_EQ(fp.num_cases(), 3);
  // The synthetic body is an ellipsoid with zeros around it: cropping removes some of them.
  EXPECT_LT(fp.median_relative_size_after_cropping, 1.0);
  // Organ (~170) and lesion (~60) voxels, noise 10: foreground statistics in that range.
  EXPECT_GT(fp.foreground_intensity_properties_per_channel[0].median, 40);
  EXPECT_LT(fp.foreground_intensity_properties_per_channel[0].median, 200);
  const std::string summary = describe_plans(plans);
  EXPECT_THAT(summary, HasSubstr("3d_fullres:"));
  EXPECT_THAT(summary, HasSubstr("patch "));
}

TEST(PlanDataset, BrokenDatasetFailsWithEveryProblemAndWritesNothing) {
  testing::TempDir dir;
  write_synthetic_dataset(dir / "ds", tiny());
  // The last case loses its label, the first case's image is corrupt: both are reported.
  std::vector<fs::path> labels, images;
  for (const auto& e : fs::directory_iterator(dir / "ds" / "labelsTr")) labels.push_back(e.path());
  for (const auto& e : fs::directory_iterator(dir / "ds" / "imagesTr")) images.push_back(e.path());
  std::sort(labels.begin(), labels.end());
  std::sort(images.begin(), images.end());
  fs::remove(labels.back());
  const std::string first_image = images.front().string();
  write_text_atomically(first_image, "not an image");
  try {
    plan_dataset(dir / "ds", dir / "work");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("problem(s)"));
    EXPECT_THAT(e.what(), HasSubstr("missing label file"));
    EXPECT_THAT(e.what(), HasSubstr(first_image));
  }
  EXPECT_FALSE(fs::exists(dir / "work" / "plans.json"));
  EXPECT_FALSE(fs::exists(dir / "work" / "dataset_fingerprint.json"));
}

}  // namespace
}  // namespace medseg
