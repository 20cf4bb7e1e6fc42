#include "medseg/io/dicom_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/version.h"
#include "medseg/io/dataset.h"
#include "medseg/io/dicom_rtstruct_writer.h"
#include "medseg/io/dicom_seg_writer.h"
#include "medseg/io/dicom_series.h"
#include "support/dicom_values.h"
#include "support/dicom_writer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

TEST(DicomOutputLabels, NamesAndValuesFromDatasetJson) {
  const DatasetInfo plain =
      parse_dataset_json({{"channel_names", {{"0", "CT"}}},
                          {"labels", {{"background", 0}, {"liver", 1}, {"tumour", 2}}},
                          {"numTraining", 1},
                          {"file_ending", ".nii.gz"}},
                         "plain");
  const auto p = dicom_output_labels(plain);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].values, std::vector<int>{1});
  EXPECT_EQ(p[0].name, "liver");
  EXPECT_EQ(p[1].values, std::vector<int>{2});
  EXPECT_EQ(p[1].name, "tumour");
  EXPECT_FALSE(dicom_labels_overlap(p));
  // A region is every value it spans, not only the one regions_class_order paints.
  const DatasetInfo regions = parse_dataset_json(
      {{"channel_names", {{"0", "MR"}}},
       {"labels", {{"background", 0}, {"whole", {1, 2, 3}}, {"core", {2, 3}}, {"enh", {3}}}},
       {"regions_class_order", {1, 2, 3}},
       {"numTraining", 1},
       {"file_ending", ".nii.gz"}},
      "regions");
  const auto r = dicom_output_labels(regions);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, "whole");
  EXPECT_EQ(r[0].values, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(r[1].values, (std::vector<int>{2, 3}));
  EXPECT_EQ(r[2].values, std::vector<int>{3});
  EXPECT_TRUE(dicom_labels_overlap(r));
}

TEST(DicomOutputLabels, MaskHoldsEveryValueOfTheLabel) {
  const int32_t labels[6] = {0, 1, 2, 3, 2, 0};
  uint8_t mask[6];
  EXPECT_TRUE(dicom_label_mask(labels, 6, {{2, 3}, "core"}, mask));
  EXPECT_EQ(std::vector<uint8_t>(mask, mask + 6), (std::vector<uint8_t>{0, 0, 1, 1, 1, 0}));
  EXPECT_FALSE(dicom_label_mask(labels, 6, {{4}, "absent"}, mask));
  EXPECT_EQ(std::vector<uint8_t>(mask, mask + 6), std::vector<uint8_t>(6, 0));
}

TEST(DicomOutputLabels, SeriesNumberIsTheSourcesPlus900UnlessGiven) {
  DicomOutputDescription d;
  EXPECT_EQ(dicom_output_series_number(d, 3), 903);
  d.series_number = 42;
  EXPECT_EQ(dicom_output_series_number(d, 3), 42);
}

class DicomOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dicom_support_available()) GTEST_SKIP() << "medseg built without DICOM support";
    testing::write_dicom_slices(testing::synthetic_ct_series(1, 4, 6, 7), tmp_ / "ct");
    series_ = scan_dicom_folder(tmp_ / "ct").series.at(0);
  }
  // Label 1: a box of rows 1..3, columns 2..5 on slices 1 and 2; label 2 nowhere.
  static torch::Tensor box_labels() {
    torch::Tensor l = torch::zeros({4, 6, 7}, torch::kUInt8);
    using torch::indexing::Slice;
    l.index_put_({Slice(1, 3), Slice(1, 4), Slice(2, 6)}, 1);
    return l;
  }
  testing::TempDir tmp_;
  DicomSeries series_;
  const std::vector<DicomOutputLabel> labels_ = {{{1}, "box"}, {{2}, "absent"}};
};

TEST_F(DicomOutput, PatientPointsFollowTheObliqueGeometry) {
  const ImageGeometry& g = series_.geometry;  // direction columns x, y, z; spacing (z, y, x)
  for (size_t k = 0; k < 4; ++k) {
    const double column = 2.5, row = -0.5;
    const auto p = dicom_patient_point(series_, k, column, row);
    const double index[3] = {column * g.spacing[2], row * g.spacing[1],
                             static_cast<double>(k) * g.spacing[0]};
    for (int i = 0; i < 3; ++i) {
      double expected = g.origin[i];
      for (int j = 0; j < 3; ++j) expected += g.direction[i * 3 + j] * index[j];
      EXPECT_NEAR(p[i], expected, 1e-9) << k << " " << i;
    }
  }
}

TEST_F(DicomOutput, SegHasOneSegmentPerLabelAndReferencesTheSource) {
  const fs::path file = tmp_ / "out" / "case.seg.dcm";
  fs::create_directories(file.parent_path());
  write_dicom_seg(box_labels(), series_, labels_, file);
  EXPECT_TRUE(dicom_output_is_complete(file, kSegmentationStorageUid));
  EXPECT_FALSE(dicom_output_is_complete(file, kRtStructureSetStorageUid));
  EXPECT_EQ(testing::dicom_value(file, 0x0008, 0x0060), "SEG");
  EXPECT_EQ(testing::dicom_value(file, 0x0020, 0x0011), "901");
  EXPECT_EQ(testing::dicom_value(file, 0x0062, 0x0001), "BINARY");
  EXPECT_EQ(testing::dicom_value(file, 0x0062, 0x0013), "NO");
  EXPECT_EQ(testing::dicom_value(file, 0x0018, 0x1020), medseg_version());  // SoftwareVersions
  EXPECT_EQ(testing::dicom_value(file, 0x0010, 0x0020), "SYNTHETIC");
  EXPECT_EQ(testing::dicom_value(file, 0x0020, 0x000D), series_.study_instance_uid);
  EXPECT_EQ(testing::dicom_value(file, 0x0020, 0x0052), series_.frame_of_reference_uid);
  EXPECT_EQ(testing::dicom_value(file, 0x0020, 0x0037), series_.orientation_text);
  EXPECT_EQ(testing::dicom_value(file, 0x0028, 0x0030), series_.pixel_spacing_text);
  // Two slices of the box, one empty frame of the absent label.
  EXPECT_EQ(testing::dicom_value(file, 0x0028, 0x0008), "3");
  EXPECT_EQ(testing::dicom_count(file, 0x0062, 0x0005), 2);  // Segment Label
  EXPECT_EQ(testing::dicom_value(file, 0x0062, 0x0005), "box");
  // Referenced SOP Instance UIDs: the 4 source slices, and each frame's source image.
  EXPECT_EQ(testing::dicom_count(file, 0x0008, 0x1155), 4 + 3);
  EXPECT_EQ(testing::dicom_value(file, 0x0020, 0x0032), series_.slices[1].position_text);
}

TEST_F(DicomOutput, RtstructHasOneRoiPerLabelAndPixelEdgeContours) {
  const fs::path file = tmp_ / "case.rtstruct.dcm";
  write_dicom_rtstruct(box_labels(), series_, labels_, file);
  EXPECT_TRUE(dicom_output_is_complete(file, kRtStructureSetStorageUid));
  EXPECT_EQ(testing::dicom_transfer_syntax(file), "1.2.840.10008.1.2");  // Implicit VR LE
  EXPECT_EQ(testing::dicom_value(file, 0x0008, 0x0060), "RTSTRUCT");
  EXPECT_EQ(testing::dicom_count(file, 0x3006, 0x0026), 2);  // ROI Name
  EXPECT_EQ(testing::dicom_value(file, 0x3006, 0x0026), "box");
  EXPECT_EQ(testing::dicom_count(file, 0x3006, 0x0050), 2);  // Contour Data: one per slice
  EXPECT_EQ(testing::dicom_value(file, 0x3006, 0x0024), series_.frame_of_reference_uid);
  EXPECT_EQ(testing::dicom_value(file, 0x0020, 0x000E).empty(), false);
  EXPECT_NE(testing::dicom_value(file, 0x0020, 0x000E), series_.series_instance_uid);
  // The first contour: the box's outline on slice 1, clockwise from its top-left corner.
  std::istringstream data(testing::dicom_value(file, 0x3006, 0x0050));
  std::vector<double> values;
  for (std::string v; std::getline(data, v, '\\');) values.push_back(std::stod(v));
  ASSERT_EQ(values.size(), 12u);
  const double corners[4][2] = {{1.5, 0.5}, {5.5, 0.5}, {5.5, 3.5}, {1.5, 3.5}};
  for (int i = 0; i < 4; ++i) {
    const auto p = dicom_patient_point(series_, 1, corners[i][0], corners[i][1]);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(values[i * 3 + j], p[j], 1e-6) << i << " " << j;
  }
  EXPECT_EQ(testing::dicom_value(file, 0x3006, 0x0042), "CLOSED_PLANAR");
  EXPECT_EQ(testing::dicom_value(file, 0x0018, 0x1020), medseg_version());  // SoftwareVersions
  // RTROIInterpretedType: type 2, present and empty for each ROI (a label is no known organ).
  EXPECT_EQ(testing::dicom_count(file, 0x3006, 0x00A4), 2);
  EXPECT_EQ(testing::dicom_value(file, 0x3006, 0x00A4), "");
}

// Nested regions (whole = 1..3, core = 2..3, enh = 3) on nested boxes of slices 1 and 2: each
// segment and ROI is its whole region, and the SEG says its segments overlap.
TEST_F(DicomOutput, RegionsHoldEveryValueTheySpan) {
  torch::Tensor l = torch::zeros({4, 6, 7}, torch::kUInt8);
  using torch::indexing::Slice;
  l.index_put_({Slice(1, 3), Slice(0, 6), Slice(0, 7)}, 1);
  l.index_put_({Slice(1, 3), Slice(1, 5), Slice(1, 6)}, 2);
  l.index_put_({Slice(1, 3), Slice(2, 4), Slice(2, 5)}, 3);
  const std::vector<DicomOutputLabel> regions = {
      {{1, 2, 3}, "whole"}, {{2, 3}, "core"}, {{3}, "enh"}};
  const fs::path seg = tmp_ / "regions.seg.dcm";
  write_dicom_seg(l, series_, regions, seg);
  EXPECT_EQ(testing::dicom_value(seg, 0x0062, 0x0013), "YES");  // SegmentsOverlap
  EXPECT_EQ(testing::dicom_value(seg, 0x0028, 0x0008), "6");    // 3 segments x 2 slices
  // Per slice: whole 6 x 7, core 4 x 5, enh 2 x 3 pixels (only the painted value: 22, 14, 6).
  EXPECT_EQ(testing::dicom_set_bits(seg, 0x7FE0, 0x0010), 2 * (42 + 20 + 6));
  const fs::path rt = tmp_ / "regions.rtstruct.dcm";
  write_dicom_rtstruct(l, series_, regions, rt);
  EXPECT_EQ(testing::dicom_count(rt, 0x3006, 0x0050), 6);  // one ring per region and slice
  // "whole" is the full slice: its first contour runs along the slice's outer edge.
  std::istringstream data(testing::dicom_value(rt, 0x3006, 0x0050));
  std::vector<double> values;
  for (std::string v; std::getline(data, v, '\\');) values.push_back(std::stod(v));
  ASSERT_EQ(values.size(), 12u);
  const double corners[4][2] = {{-0.5, -0.5}, {6.5, -0.5}, {6.5, 5.5}, {-0.5, 5.5}};
  for (int i = 0; i < 4; ++i) {
    const auto p = dicom_patient_point(series_, 1, corners[i][0], corners[i][1]);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(values[i * 3 + j], p[j], 1e-6) << i << " " << j;
  }
}

TEST_F(DicomOutput, WritersRefuseAnotherGridAndAMissingFrameOfReference) {
  const torch::Tensor wrong = torch::zeros({4, 7, 6}, torch::kUInt8);
  EXPECT_THAT(error_of([&] { write_dicom_seg(wrong, series_, labels_, tmp_ / "a.seg.dcm"); }),
              HasSubstr("a.seg.dcm: the label map's shape (4, 7, 6) is not the (slices, rows, "
                        "columns) (4, 6, 7) of series"));
  EXPECT_THAT(
      error_of([&] { write_dicom_rtstruct(wrong, series_, labels_, tmp_ / "a.rtstruct.dcm"); }),
      HasSubstr("a.rtstruct.dcm: the label map's shape (4, 7, 6)"));
  DicomSeries no_frame = series_;
  no_frame.frame_of_reference_uid.clear();
  EXPECT_THAT(error_of([&] { write_dicom_seg(box_labels(), no_frame, labels_, tmp_ / "b.dcm"); }),
              HasSubstr("its slices have no FrameOfReferenceUID"));
  EXPECT_FALSE(fs::exists(tmp_ / "a.seg.dcm"));
  EXPECT_FALSE(fs::exists(tmp_ / "b.dcm"));
}

TEST_F(DicomOutput, TruncatedFileIsNotComplete) {
  const fs::path file = tmp_ / "case.seg.dcm";
  write_dicom_seg(box_labels(), series_, labels_, file);
  const auto size = fs::file_size(file);
  fs::resize_file(file, size / 2);
  EXPECT_FALSE(dicom_output_is_complete(file, kSegmentationStorageUid));
  EXPECT_FALSE(dicom_output_is_complete(tmp_ / "missing.seg.dcm", kSegmentationStorageUid));
}

}  // namespace
}  // namespace medseg
