// Synthetic DICOM series for tests, written with DCMTK: CT Image Storage, int16 pixels, the
// attributes a CT image needs, and every slice's header open to change (a missing slice, a
// jittered position, a localizer, another rescale) before it is written. No patient data.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medseg/io/image.h"

namespace medseg::testing {

// One slice file's contents.
struct DicomSliceSpec {
  std::string study_uid, series_uid, frame_uid, sop_instance_uid;
  std::string description = "synthetic CT";
  std::string modality = "CT";
  std::string image_type = "ORIGINAL\\PRIMARY\\AXIAL";
  std::string character_set;  // SpecificCharacterSet; "": none (the default repertoire, ASCII)
  std::string patient_name = "Synthetic^Phantom";  // bytes as written (UTF-8 with ISO_IR 192)
  int64_t series_number = 1;
  int64_t instance_number = 1;
  std::array<double, 6> orientation{};
  std::array<double, 3> position{};
  std::array<double, 2> pixel_spacing{};  // between rows, between columns
  double slope = 1, intercept = 0;
  int64_t rows = 0, columns = 0;
  std::vector<int16_t> pixels;  // rows x columns, row by row
};

// A series of `slices` x `rows` x `columns` (small by default): oblique orientation
// 1\0\0\0\0.8\-0.6 (normal (0, 0.6, 0.8), exact in decimal), origin (-20.5, 10.25, 30), slice
// step 2.5 mm, PixelSpacing 0.75\0.5, RescaleSlope 0.5, RescaleIntercept -1024; stored values
// vary along every axis. `uid_seed` makes the UIDs (2.25.<seed>...) of another series.
std::vector<DicomSliceSpec> synthetic_ct_series(int uid_seed = 1, int64_t slices = 5,
                                                int64_t rows = 6, int64_t columns = 7);

// The volume the slices stand for: stored * slope + intercept per slice, (z, y, x) float32,
// with the geometry from their positions (slices taken in the given order: sorted by position).
Image synthetic_ct_volume(const std::vector<DicomSliceSpec>& slices);

// Writes each slice as <dir>/<names[k]> (names empty: slice_<k>.dcm); creates dir.
void write_dicom_slices(const std::vector<DicomSliceSpec>& slices, const std::filesystem::path& dir,
                        const std::vector<std::string>& names = {});

}  // namespace medseg::testing
