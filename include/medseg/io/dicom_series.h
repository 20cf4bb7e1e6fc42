// DICOM series as input: a folder's files grouped by SeriesInstanceUID, each series checked to
// form one regular volume (slices ordered by position, not by file name) and read into an
// Image with the series' geometry and rescaled intensities. The sorted slices keep their UIDs
// and positions, which a DICOM SEG or RTSTRUCT of the series has to reference.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medseg/io/image.h"

namespace medseg {

// False when medseg was built without DCMTK / ITK's GDCM module (MEDSEG_WITH_DICOM off): the
// functions below then throw Error saying so.
bool dicom_support_available();

// True when `path` is a DICOM Part 10 file ("DICM" after the 128-byte preamble).
bool is_dicom_file(const std::filesystem::path& path);

// True when `folder` holds no image file read_image understands and at least one DICOM file
// (in it or below it, hidden entries skipped): how `medseg predict -i` tells the two apart.
bool is_dicom_folder(const std::filesystem::path& folder);

struct DicomSlice {
  std::filesystem::path file;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::array<double, 3> position{};  // ImagePositionPatient (mm, LPS)
  std::string position_text;         // ImagePositionPatient as written in the file
  int64_t instance_number = 0;       // 0 when absent
  double rescale_slope = 1;
  double rescale_intercept = 0;
};

struct DicomSeries {
  std::string series_instance_uid;
  std::string study_instance_uid;
  std::string frame_of_reference_uid;
  std::string series_description;
  std::string modality;
  std::string sop_class_uid;
  int64_t series_number = 0;  // 0 when absent
  int64_t rows = 0;
  int64_t columns = 0;
  std::array<double, 6> orientation{};    // ImageOrientationPatient: row cosines, column cosines
  std::string orientation_text;           // as written in the files
  std::array<double, 2> pixel_spacing{};  // PixelSpacing: between rows (y), between columns (x)
  std::string pixel_spacing_text;         // as written in the files
  // Sorted by position along the slice normal (row x column cosines), ascending: slice k of
  // the volume is slices[k].
  std::vector<DicomSlice> slices;
  // spacing (z, y, x): the step between positions, PixelSpacing; origin: the first slice's
  // position; direction: columns row cosines, column cosines, normal (image.h's convention).
  ImageGeometry geometry;

  // "series <uid> (<description>)": how errors and logs name it.
  std::string label() const;
};

// Tolerances of the volume checks (mm, or fractions of a spacing).
struct DicomCheckOptions {
  // A step between slice positions may differ from the median step by this fraction of it
  // (or by min_tolerance_mm, whichever is larger); so may a slice drift within its plane.
  double spacing_tolerance = 0.01;
  double min_tolerance_mm = 0.01;
  // Largest difference of a direction cosine between slices of one orientation.
  double orientation_tolerance = 1e-4;
};

struct DicomFolderScan {
  std::vector<DicomSeries> series;  // the volumes, sorted by (study, series number, series UID)
  std::vector<std::string> notes;   // what was skipped and why (non-DICOM files, SEG, localizers)
};

// Reads the headers of every DICOM file in `folder` (recursively; hidden entries skipped),
// groups them by SeriesInstanceUID and checks each series: one image type per slice (no
// localizer mixed in), one orientation, single-frame, one Rows/Columns/PixelSpacing, no
// duplicate position, no slice off the normal through the first (gantry tilt), evenly spaced
// positions (a gap is missing slices, named by position). Files that are not DICOM, non-image
// objects (SEG, RTSTRUCT, SR) and series made only of localizers are skipped with a note.
// Throws one Error listing every series that cannot form a volume, naming it and the problem,
// and an Error when the folder holds no image series.
DicomFolderScan scan_dicom_folder(const std::filesystem::path& folder,
                                  const DicomCheckOptions& options = DicomCheckOptions());

// The voxels of a checked series (through ITK's GDCMImageIO, in the series' sorted order), with
// each slice's rescale slope and intercept applied, and the series' geometry. The tensor is
// int16 (or int32) when every slope and intercept is an integer and the values fit, float32
// otherwise. Error naming the series and file when a file cannot be decoded or differs from its
// header.
Image read_dicom_series(const DicomSeries& series);

// A file-name-safe case id for a series: its description (letters, digits, '-', at most 32
// characters; the modality when there is none), '_' and the series UID's last 8 digits.
std::string dicom_case_id(const DicomSeries& series);

// dicom_case_id for each series, made unique: ids that two series share are replaced by the
// full SeriesInstanceUID with '.' as '-'.
std::vector<std::string> dicom_case_ids(const std::vector<DicomSeries>& series);

}  // namespace medseg
