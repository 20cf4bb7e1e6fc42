#include "medseg/io/dataset_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "medseg/io/synthetic_dataset.h"
#include "support/dataset_builder.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

std::string joined(const ValidationReport& report) {
  std::string all;
  for (const auto& p : report.problems) all += p + "\n";
  return all;
}

TEST(Validation, CleanDatasetHasNoProblems) {
  testing::TempDir dir;
  write_json(dir / "dataset.json", testing::dataset_json(2));
  testing::write_test_case(dir.path(), "a");
  testing::write_test_case(dir.path(), "b");
  const ValidationReport report = validate_dataset(dir.path(), 2);
  EXPECT_TRUE(report.ok()) << joined(report);
  EXPECT_EQ(report.cases_checked, 2);
}

TEST(Validation, SyntheticDatasetIsValid) {
  testing::TempDir dir;
  SynthOptions options;
  options.num_training = 3;
  options.shape = {12, 16, 16};
  write_synthetic_dataset(dir.path(), options);
  const ValidationReport report = validate_dataset(dir.path(), 2);
  EXPECT_TRUE(report.ok()) << joined(report);
  EXPECT_EQ(report.cases_checked, 3);
}

TEST(Validation, ReportsAllProblemsNotOnlyTheFirst) {
  testing::TempDir dir;
  write_json(dir / "dataset.json", testing::dataset_json(7));
  const ImageGeometry unit = ImageGeometry::with_spacing({1, 1, 1});
  testing::write_test_case(dir.path(), "ok");
  // shape mismatch
  testing::write_test_case(dir.path(), "shape");
  write_label_image(Image{torch::zeros({8, 8, 7}, torch::kByte), unit}, dir / "labelsTr/shape.nii.gz");
  // spacing mismatch
  testing::write_test_case(dir.path(), "spacing");
  write_label_image(testing::test_label({2.0, 1.0, 1.0}), dir / "labelsTr/spacing.nii.gz");
  // origin mismatch
  testing::write_test_case(dir.path(), "origin");
  Image shifted = testing::test_label();
  shifted.geometry.origin = {5, 0, 0};
  write_label_image(shifted, dir / "labelsTr/origin.nii.gz");
  // undeclared label value
  testing::write_test_case(dir.path(), "undeclared");
  Image bad_labels = testing::test_label();
  bad_labels.data[0][0][0] = 7;
  write_label_image(bad_labels, dir / "labelsTr/undeclared.nii.gz");
  // NaN intensities
  testing::write_test_case(dir.path(), "nan");
  Image nan_image = testing::test_image();
  nan_image.data[1][1][1] = std::numeric_limits<float>::quiet_NaN();
  write_image(nan_image, dir / "imagesTr/nan_0000.nii.gz");
  // A NaN in an MHA file reaches the tensor; one in NIfTI is zeroed by ITK's reader and found raw.
  Image nan_mha = testing::test_image();
  nan_mha.data[2][2][2] = std::numeric_limits<float>::infinity();
  nan_mha.data[3][3][3] = std::numeric_limits<float>::quiet_NaN();
  write_image(nan_mha, dir / "nanmha.mha");
  EXPECT_EQ((~torch::isfinite(read_image(dir / "nanmha.mha").data)).sum().item<int64_t>(), 2);
  fs::remove(dir / "nanmha.mha");
  // unreadable label
  testing::write_test_case(dir.path(), "corrupt");
  std::ofstream(dir / "labelsTr/corrupt.nii.gz", std::ios::trunc) << "garbage";
  // label without image
  fs::copy_file(dir / "labelsTr/ok.nii.gz", dir / "labelsTr/orphan.nii.gz");

  const ValidationReport report = validate_dataset(dir.path(), 2);
  const std::string all = joined(report);
  EXPECT_EQ(report.problems.size(), 7u) << all;
  EXPECT_THAT(all, HasSubstr("shape.nii.gz: shape (8, 8, 7) differs from image shape (8, 8, 8)"));
  EXPECT_THAT(all, HasSubstr("spacing.nii.gz: spacing differs"));
  EXPECT_THAT(all, HasSubstr("origin.nii.gz: origin differs"));
  EXPECT_THAT(all, HasSubstr("undeclared.nii.gz: label values not declared in dataset.json: 7"));
  EXPECT_THAT(all, HasSubstr("nan_0000.nii.gz: 1 non-finite intensities"));
  EXPECT_THAT(all, HasSubstr("corrupt.nii.gz"));
  EXPECT_THAT(all, HasSubstr("orphan.nii.gz: label without images"));
  // 7 cases have images (ok, shape, spacing, origin, undeclared, nan, corrupt): numTraining agrees.
  EXPECT_THAT(all, ::testing::Not(HasSubstr("numTraining")));
}

TEST(Validation, NumTrainingMismatchAndBadJson) {
  testing::TempDir dir;
  write_json(dir / "dataset.json", testing::dataset_json(3));
  testing::write_test_case(dir.path(), "a");
  ValidationReport report = validate_dataset(dir.path(), 1);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], HasSubstr("numTraining is 3 but imagesTr holds 1 cases"));

  write_text_atomically(dir / "dataset.json", "{ not json");
  report = validate_dataset(dir.path(), 1);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_THAT(report.problems[0], HasSubstr("dataset.json: invalid JSON"));
}

TEST(Validation, HiddenFilesAreNotCases) {
  // A write's temporary, or a copy's hidden metadata file: neither is counted in numTraining.
  testing::TempDir dir;
  write_json(dir / "dataset.json", testing::dataset_json(2));
  testing::write_test_case(dir.path(), "a");
  testing::write_test_case(dir.path(), "b");
  write_image(testing::test_image(), dir / "imagesTr" / "._c_0000.nii.gz");
  const ValidationReport report = validate_dataset(dir.path(), 2);
  EXPECT_TRUE(report.ok()) << joined(report);
  EXPECT_EQ(report.cases_checked, 2);
}

}  // namespace
}  // namespace medseg
