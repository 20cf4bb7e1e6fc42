#include "medseg/io/dicom_series.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/dicom_cases.h"
#include "medseg/io/image.h"
#include "support/dicom_writer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

class DicomInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dicom_support_available()) GTEST_SKIP() << "medseg built without DICOM support";
  }
  fs::path dir(const std::string& name) const { return tmp_ / name; }
  testing::TempDir tmp_;
};

void expect_same_geometry(const ImageGeometry& a, const ImageGeometry& b, double tol) {
  ASSERT_EQ(a.spacing.size(), b.spacing.size());
  for (size_t i = 0; i < a.spacing.size(); ++i) EXPECT_NEAR(a.spacing[i], b.spacing[i], tol) << i;
  for (size_t i = 0; i < a.origin.size(); ++i) EXPECT_NEAR(a.origin[i], b.origin[i], tol) << i;
  for (size_t i = 0; i < a.direction.size(); ++i)
    EXPECT_NEAR(a.direction[i], b.direction[i], tol) << i;
}

TEST_F(DicomInput, ReadingRecoversRescaledVoxelsAndObliqueGeometry) {
  const auto slices = testing::synthetic_ct_series();
  testing::write_dicom_slices(slices, dir("ct"));
  const DicomFolderScan scan = scan_dicom_folder(dir("ct"));
  ASSERT_EQ(scan.series.size(), 1u);
  const DicomSeries& s = scan.series[0];
  EXPECT_EQ(s.series_instance_uid, slices[0].series_uid);
  EXPECT_EQ(s.study_instance_uid, "2.25.4711.1");
  EXPECT_EQ(s.frame_of_reference_uid, "2.25.4711.3");
  EXPECT_EQ(s.series_description, "synthetic CT");
  EXPECT_EQ(s.orientation_text, "1\\0\\0\\0\\0.8\\-0.6");
  ASSERT_EQ(s.slices.size(), 5u);
  for (size_t k = 0; k < 5; ++k)
    EXPECT_EQ(s.slices[k].sop_instance_uid, slices[k].sop_instance_uid);
  EXPECT_EQ(s.slices[0].position_text, "-20.5\\10.25\\30");

  const Image image = read_dicom_series(s);
  const Image expected = testing::synthetic_ct_volume(slices);
  EXPECT_EQ(image.data.scalar_type(), torch::kFloat32);  // slope 0.5
  EXPECT_TRUE(torch::equal(image.data, expected.data));
  // Stored 2000 - 17 at the first voxel: -1024 + 0.5 * 1983.
  EXPECT_EQ(image.data[0][0][0].item<float>(), -32.5f);
  EXPECT_EQ(image.geometry.origin, expected.geometry.origin);
  EXPECT_EQ(image.geometry.direction, expected.geometry.direction);
  EXPECT_EQ(image.geometry.direction[5], 0.6);  // normal (0, 0.6, 0.8) in column 2
  expect_same_geometry(image.geometry, expected.geometry, 1e-12);
  EXPECT_NEAR(image.geometry.spacing[0], 2.5, 1e-12);
  EXPECT_EQ(image.geometry.spacing[1], 0.75);
  EXPECT_EQ(image.geometry.spacing[2], 0.5);
}

TEST_F(DicomInput, SlicesSortByPositionNotByFileNameOrInstanceNumber) {
  auto slices = testing::synthetic_ct_series();
  // Instance numbers against the positions, names in yet another order.
  for (size_t k = 0; k < slices.size(); ++k)
    slices[k].instance_number = 10 - static_cast<int64_t>(k);
  testing::write_dicom_slices(slices, dir("ct"), {"c.dcm", "a.dcm", "e.dcm", "b.dcm", "d"});
  const DicomFolderScan scan = scan_dicom_folder(dir("ct"));
  ASSERT_EQ(scan.series.size(), 1u);
  const auto& sorted = scan.series[0].slices;
  EXPECT_EQ(sorted[0].file.filename(), "c.dcm");
  EXPECT_EQ(sorted[4].file.filename(), "d");
  EXPECT_TRUE(torch::equal(read_dicom_series(scan.series[0]).data,
                           testing::synthetic_ct_volume(slices).data));
}

TEST_F(DicomInput, TwoSeriesInOneFolderAreTwoCases) {
  auto a = testing::synthetic_ct_series(1);
  auto b = testing::synthetic_ct_series(2, 4);
  for (auto& s : b) s.description = "second series";
  testing::write_dicom_slices(a, dir("in"), {"1", "3", "5", "7", "9"});
  testing::write_dicom_slices(b, dir("in") / "sub", {"2", "4", "6", "8"});
  std::ofstream(dir("in") / "README.txt") << "not DICOM\n";
  EXPECT_TRUE(is_dicom_folder(dir("in")));
  const DicomFolderScan scan = scan_dicom_folder(dir("in"));
  ASSERT_EQ(scan.series.size(), 2u);
  ASSERT_EQ(scan.notes.size(), 1u);
  EXPECT_THAT(scan.notes[0], HasSubstr("README.txt: skipped, not a DICOM file"));
  const std::vector<DicomCase> cases = dicom_cases(scan, 1, {});
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].id, "second-series_25471122");
  EXPECT_EQ(cases[1].id, "synthetic-CT_25471112");
  EXPECT_EQ(cases[0].channels[0].slices.size(), 4u);
  EXPECT_THAT(error_of([&] { dicom_cases(scan, 2, {}); }), HasSubstr("--dicom-channels"));
}

TEST_F(DicomInput, EveryVolumeProblemIsAnErrorNamingTheSeries) {
  const auto good = testing::synthetic_ct_series(1, 6);
  const std::string uid = good[0].series_uid;
  const auto scan_error = [&](const std::string& name, std::vector<testing::DicomSliceSpec> s) {
    testing::write_dicom_slices(s, dir(name));
    const std::string message = error_of([&] { scan_dicom_folder(dir(name)); });
    EXPECT_THAT(message, HasSubstr("series " + uid + " (synthetic CT)")) << name;
    EXPECT_THAT(message, HasSubstr("cannot form a volume")) << name;
    return message;
  };
  auto missing = good;
  missing.erase(missing.begin() + 2);
  EXPECT_THAT(scan_error("missing", missing),
              HasSubstr("missing slice(s): 1 slice(s) of 2.5 mm missing between positions "
                        "32.65 and 37.65 mm along the normal (slice_1.dcm, slice_2.dcm)"));
  auto uneven = good;
  uneven[3].position[2] += 0.5;
  EXPECT_THAT(scan_error("uneven", uneven), HasSubstr("uneven spacing: a step of 2.9 mm"));
  auto tilted = good;
  for (size_t k = 0; k < tilted.size(); ++k) tilted[k].position[0] += 0.5 * static_cast<double>(k);
  EXPECT_THAT(scan_error("tilted", tilted), HasSubstr("mm off the normal through the first slice"));
  auto duplicate = good;
  duplicate.push_back(good[3]);
  duplicate.back().sop_instance_uid += ".99";
  EXPECT_THAT(scan_error("duplicate", duplicate),
              HasSubstr("duplicate slice position 37.65 mm along the normal"));
  auto localizer = good;
  localizer.push_back(good[0]);
  localizer.back().sop_instance_uid += ".98";
  localizer.back().image_type = "ORIGINAL\\PRIMARY\\LOCALIZER";
  localizer.back().position[1] -= 40;
  EXPECT_THAT(scan_error("localizer", localizer),
              HasSubstr("a localizer is mixed in (ImageType LOCALIZER): slice_6.dcm"));
  auto oblique = good;
  oblique.push_back(good[0]);
  oblique.back().sop_instance_uid += ".97";
  oblique.back().orientation = {1, 0, 0, 0, 1, 0};
  EXPECT_THAT(scan_error("orientation", oblique),
              HasSubstr("mixed orientations (a localizer or another stack mixed in?): 6 slice(s) "
                        "with ImageOrientationPatient 1\\0\\0\\0\\0.8\\-0.6, 1 with "
                        "1\\0\\0\\0\\1\\0 (slice_6.dcm)"));
  auto grid = good;
  grid[4].pixel_spacing = {0.8, 0.5};
  EXPECT_THAT(scan_error("grid", grid), HasSubstr("slice_4.dcm has PixelSpacing 0.8\\0.5"));
}

TEST_F(DicomInput, LocalizerSeriesAndNonImageObjectsAreSkippedWithANote) {
  testing::write_dicom_slices(testing::synthetic_ct_series(1), dir("in"));
  auto scout = testing::synthetic_ct_series(3, 2);
  for (auto& s : scout) s.image_type = "ORIGINAL\\PRIMARY\\LOCALIZER";
  scout[1].orientation = {0, 1, 0, 0, 0, -1};
  testing::write_dicom_slices(scout, dir("in") / "scout");
  auto seg = testing::synthetic_ct_series(4, 1);
  seg[0].modality = "SEG";
  testing::write_dicom_slices(seg, dir("in") / "seg");
  const DicomFolderScan scan = scan_dicom_folder(dir("in"));
  ASSERT_EQ(scan.series.size(), 1u);
  ASSERT_EQ(scan.notes.size(), 2u);
  EXPECT_THAT(scan.notes[0], HasSubstr("a SEG object (not an image)"));
  EXPECT_THAT(scan.notes[1], HasSubstr("skipped, 2 localizer image(s), no volume"));
  EXPECT_THAT(error_of([&] { scan_dicom_folder(dir("in") / "scout"); }),
              HasSubstr("no DICOM image series found"));
}

TEST_F(DicomInput, EachSliceIsRescaledWithItsOwnSlopeAndIntercept) {
  auto slices = testing::synthetic_ct_series();
  slices[2].slope = 2;
  slices[2].intercept = 5;
  slices[3].slope = 0.25;
  testing::write_dicom_slices(slices, dir("ct"));
  const Image image = read_dicom_series(scan_dicom_folder(dir("ct")).series[0]);
  EXPECT_TRUE(torch::equal(image.data, testing::synthetic_ct_volume(slices).data));
  // Integer slopes and intercepts: int16 voxels, as a CT's NIfTI usually has.
  for (auto& s : slices) s.slope = 1;
  slices[1].intercept = -1000;
  testing::write_dicom_slices(slices, dir("int"));
  const Image ints = read_dicom_series(scan_dicom_folder(dir("int")).series[0]);
  EXPECT_EQ(ints.data.scalar_type(), torch::kInt16);
  EXPECT_TRUE(
      torch::equal(ints.data.to(torch::kFloat32), testing::synthetic_ct_volume(slices).data));
}

TEST_F(DicomInput, AChannelMapMakesMultiChannelCasesOfMatchingSeries) {
  const auto a = testing::synthetic_ct_series(1);
  const auto b = testing::synthetic_ct_series(2);
  testing::write_dicom_slices(a, dir("in") / "a");
  testing::write_dicom_slices(b, dir("in") / "b");
  auto shifted = testing::synthetic_ct_series(5);
  for (auto& s : shifted) s.position[0] += 3;
  testing::write_dicom_slices(shifted, dir("in") / "c");
  const DicomFolderScan scan = scan_dicom_folder(dir("in"));
  write_json(dir("map.json"), {{"p1", {b[0].series_uid, a[0].series_uid}}});
  const auto cases = dicom_cases(scan, 2, dir("map.json"));
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].id, "p1");
  EXPECT_EQ(cases[0].channels[0].series_instance_uid, b[0].series_uid);
  const auto channels = read_dicom_case(cases[0]);
  EXPECT_TRUE(torch::equal(channels[1].data, testing::synthetic_ct_volume(a).data));

  write_json(dir("bad.json"), {{"p1", {a[0].series_uid, "1.2.3"}}});
  EXPECT_THAT(error_of([&] { dicom_cases(scan, 2, dir("bad.json")); }),
              HasSubstr("case p1: series 1.2.3 is not among the DICOM series"));
  EXPECT_THAT(error_of([&] { dicom_cases(scan, 3, dir("map.json")); }),
              HasSubstr("case p1 must list 3 SeriesInstanceUID(s), one per channel"));
  write_json(dir("shifted.json"), {{"p2", {a[0].series_uid, shifted[0].series_uid}}});
  const auto moved = dicom_cases(scan, 2, dir("shifted.json"));
  EXPECT_THAT(error_of([&] { read_dicom_case(moved[0]); }),
              HasSubstr("case p2: channel 1 (series " + shifted[0].series_uid +
                        " (synthetic CT)) has another geometry"));
}

TEST_F(DicomInput, ConvertWritesNiftiInTheSeriesGeometryAndARecord) {
  const auto slices = testing::synthetic_ct_series(1);
  testing::write_dicom_slices(slices, dir("dicom"));
  DicomConversionOptions o;
  o.input = dir("dicom");
  o.output_dir = dir("dataset") / "imagesTs";
  const DicomConversionResult r = convert_dicom(o);
  EXPECT_EQ(r.cases, 1);
  EXPECT_EQ(r.files, 1);
  EXPECT_EQ(r.record_file, dir("dataset") / "imagesTs_dicom_series.json");
  const std::string id = dicom_case_id(scan_dicom_folder(dir("dicom")).series[0]);
  const Image nifti = read_image(o.output_dir / (id + "_0000.nii.gz"));
  const Image expected = testing::synthetic_ct_volume(slices);
  EXPECT_TRUE(torch::equal(nifti.data, expected.data));
  expect_same_geometry(nifti.geometry, expected.geometry, 1e-6);  // NIfTI keeps float32
  const nlohmann::json record = read_json(r.record_file);
  ASSERT_EQ(record["files"].size(), 1u);
  const nlohmann::json& f = record["files"][0];
  EXPECT_EQ(f["file"], id + "_0000.nii.gz");
  EXPECT_EQ(f["series_instance_uid"], slices[0].series_uid);
  EXPECT_EQ(f["study_instance_uid"], "2.25.4711.1");
  EXPECT_EQ(f["frame_of_reference_uid"], "2.25.4711.3");
  EXPECT_EQ(f["series_description"], "synthetic CT");
  EXPECT_EQ(f["files"], 5);
  // The images folder holds only image files: a valid prediction input.
  EXPECT_FALSE(is_dicom_folder(o.output_dir));
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(o.output_dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(DicomCaseId, DescriptionAndTheUidsLastDigitsMadeUniqueByTheFullUid) {
  DicomSeries a, b, c;
  a.series_description = "T1 axial (post)";
  a.series_instance_uid = "1.2.840.99.123456789";
  b.series_instance_uid = "1.2.840.99.7";
  b.modality = "MR";
  c = a;
  c.series_instance_uid = "1.2.841.99.123456789";
  EXPECT_EQ(dicom_case_id(a), "T1-axial-post_23456789");
  EXPECT_EQ(dicom_case_id(b), "MR_12840997");
  const auto ids = dicom_case_ids({a, b, c});
  EXPECT_EQ(ids[0], "1-2-840-99-123456789");
  EXPECT_EQ(ids[2], "1-2-841-99-123456789");
}

}  // namespace
}  // namespace medseg
