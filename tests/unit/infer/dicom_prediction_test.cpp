#include "medseg/infer/dicom_prediction.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/dicom_cases.h"
#include "medseg/io/dicom_output.h"
#include "medseg/io/image.h"
#include "support/dicom_writer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

Predictor dicom_test_predictor(PredictionOptions options = {}) {
  const Plans plans = testing::infer_plans("3d_fullres", {2.5, 0.75, 0.5}, {4, 8, 8});
  options.mirroring = false;
  return Predictor(plans, "3d_fullres", testing::three_class_dataset(),
                   std::vector<LogitsFunction>{testing::threshold_network()}, torch::kCPU, options);
}

// Intensities around the threshold network's 15 and 25: every label occurs.
std::vector<testing::DicomSliceSpec> thresholded_series(int seed) {
  auto slices = testing::synthetic_ct_series(seed, 6, 10, 12);
  for (size_t k = 0; k < slices.size(); ++k)
    for (size_t i = 0; i < slices[k].pixels.size(); ++i)
      slices[k].pixels[i] =
          static_cast<int16_t>(2048 + static_cast<int64_t>((i * 7 + k * 13) % 60));
  return slices;  // -1024 + 0.5 * (2048 + 0..59) = 0 .. 29.5
}

TEST(DicomPrediction, GivesTheMaskOfTheConvertedNiftiInTheSeriesGeometry) {
  if (!dicom_support_available()) GTEST_SKIP() << "medseg built without DICOM support";
  testing::TempDir tmp;
  testing::write_dicom_slices(thresholded_series(1), tmp / "dicom" / "a");
  testing::write_dicom_slices(thresholded_series(2), tmp / "dicom" / "b");
  const Predictor predictor = dicom_test_predictor();
  PredictFolderOptions o;
  o.input = tmp / "dicom";
  o.output_dir = tmp / "from_dicom";
  const PredictFolderResult r = predict_dicom_folder(predictor, o, {});
  EXPECT_EQ(r.cases, 2u);
  EXPECT_EQ(r.predicted, 2u);

  DicomConversionOptions convert;
  convert.input = tmp / "dicom";
  convert.output_dir = tmp / "nifti";
  convert_dicom(convert);
  PredictFolderOptions n = o;
  n.input = tmp / "nifti";
  n.output_dir = tmp / "from_nifti";
  EXPECT_EQ(predict_folder(predictor, n).predicted, 2u);

  const DicomFolderScan scan = scan_dicom_folder(tmp / "dicom");
  const nlohmann::json record = read_json(tmp / "from_dicom" / "dicom_cases.json");
  ASSERT_EQ(record["cases"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const std::string id = dicom_case_ids(scan.series)[i];
    const Image a = read_image(tmp / "from_dicom" / (id + ".nii.gz"));
    const Image b = read_image(tmp / "from_nifti" / (id + ".nii.gz"));
    EXPECT_TRUE(torch::equal(a.data, b.data)) << id;
    EXPECT_GT(a.data.eq(1).sum().item<int64_t>(), 0);
    EXPECT_GT(a.data.eq(2).sum().item<int64_t>(), 0);
    EXPECT_TRUE(a.geometry.matches(scan.series[i].geometry, 1e-6, 1e-5, 1e-6))
        << a.geometry.describe();
    const auto& c = record["cases"][i];
    EXPECT_EQ(c["file"], id + ".nii.gz");
    EXPECT_EQ(c["channels"][0]["series_instance_uid"], scan.series[i].series_instance_uid);
  }
}

// A pure function: runs in builds with and without DICOM support.
TEST(DicomPrediction, ParsesTheOutputFormats) {
  const DicomPredictionOutputs nifti = parse_output_formats({});
  EXPECT_TRUE(nifti.nifti);
  EXPECT_FALSE(nifti.any_dicom());
  const DicomPredictionOutputs dicom = parse_output_formats({"dicom-seg", "rtstruct"});
  EXPECT_FALSE(dicom.nifti);
  EXPECT_TRUE(dicom.dicom_seg && dicom.rtstruct);
  const DicomPredictionOutputs seg = parse_output_formats({"nifti", "dicom-seg"});
  EXPECT_TRUE(seg.nifti && seg.dicom_seg && !seg.rtstruct);
  EXPECT_THAT(testing::error_of([] {
                parse_output_formats({"nifti", "seg"});
              }),
              HasSubstr("--output-format: unknown format \"seg\" (nifti, dicom-seg or rtstruct)"));
}

TEST(DicomPrediction, WritesTheChosenOutputFormats) {
  if (!dicom_support_available()) GTEST_SKIP() << "medseg built without DICOM support";
  const DicomPredictionOutputs dicom = parse_output_formats({"dicom-seg", "rtstruct"});
  testing::TempDir tmp;
  testing::write_dicom_slices(thresholded_series(1), tmp / "dicom");
  PredictFolderOptions o;
  o.input = tmp / "dicom";
  o.output_dir = tmp / "out";
  EXPECT_EQ(predict_dicom_folder(dicom_test_predictor(), o, {}, dicom).predicted, 1u);
  const nlohmann::json record = read_json(tmp / "out" / "dicom_cases.json");
  const std::string id = record["cases"][0]["case"];
  EXPECT_FALSE(record["cases"][0].contains("file"));
  EXPECT_EQ(record["cases"][0]["dicom_seg"], id + ".seg.dcm");
  EXPECT_EQ(record["cases"][0]["rtstruct"], id + ".rtstruct.dcm");
  EXPECT_FALSE(fs::exists(tmp / "out" / (id + ".nii.gz")));
  EXPECT_TRUE(dicom_output_is_complete(tmp / "out" / (id + ".seg.dcm"), kSegmentationStorageUid));
  EXPECT_TRUE(
      dicom_output_is_complete(tmp / "out" / (id + ".rtstruct.dcm"), kRtStructureSetStorageUid));
  o.skip_existing = true;  // complete: nothing predicted again
  EXPECT_EQ(predict_dicom_folder(dicom_test_predictor(), o, {}, dicom).predicted, 0u);
}

TEST(DicomPrediction, RefusesWhatItCannotDo) {
  if (!dicom_support_available()) GTEST_SKIP() << "medseg built without DICOM support";
  testing::TempDir tmp;
  testing::write_dicom_slices(thresholded_series(1), tmp / "dicom");
  PredictFolderOptions o;
  o.input = tmp / "dicom";
  o.output_dir = tmp / "out";
  PredictionOptions probabilities;
  probabilities.save_probabilities = true;
  EXPECT_THAT(
      testing::error_of([&] { predict_dicom_folder(dicom_test_predictor(probabilities), o, {}); }),
      HasSubstr("--save-probabilities: is not available for DICOM input yet"));
  auto single = testing::synthetic_ct_series(3, 1, 10, 12);
  testing::write_dicom_slices(single, tmp / "single");
  o.input = tmp / "single";
  EXPECT_THAT(testing::error_of([&] { predict_dicom_folder(dicom_test_predictor(), o, {}); }),
              HasSubstr("is a single slice, but configuration 3d_fullres is a 3D model"));
}

}  // namespace
}  // namespace medseg
