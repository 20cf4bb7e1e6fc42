// A label map predicted from a DICOM series, written back as DICOM: a Segmentation (SEG) object
// or an RT Structure Set (io/dicom_seg_writer.h, io/dicom_rtstruct_writer.h). Both reference the
// source series' instances and copy its patient, study and Frame of Reference. This file holds
// what the two share: which label values become segments or ROIs, and under which names.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medseg/core/version.h"
#include "medseg/io/dataset.h"

namespace medseg {

// One segment (SEG) or ROI (RTSTRUCT): the voxels of the label map whose value is in `values`.
struct DicomOutputLabel {
  std::vector<int> values;  // a label's value, or the values a region spans (several)
  std::string name;         // dataset.json's label name (UTF-8)
};

// dataset.json's foreground labels in declaration order, each with its value; for region-based
// datasets each region with its list of values (the label map holds regions_class_order's value
// of the innermost region predicted, so a region is every voxel whose value is in its list). The
// ignore label is left out (predictions never contain it).
std::vector<DicomOutputLabel> dicom_output_labels(const DatasetInfo& dataset);

// True when a voxel can belong to two of `labels` (two share a value: nested regions). The SEG
// then says SegmentsOverlap YES.
bool dicom_labels_overlap(const std::vector<DicomOutputLabel>& labels);

// mask[i] = 1 where labels[i] is one of label.values, else 0 (`count` voxels); true when any is 1.
bool dicom_label_mask(const int32_t* labels, size_t count, const DicomOutputLabel& label,
                      uint8_t* mask);

// The SpecificCharacterSet (0008,0005) both objects declare, given the source's (`source`, ""
// when absent) and the names written. ASCII names keep the source's. Names beyond ASCII are
// written as UTF-8: with a source in ISO_IR 192, or in the default repertoire (ASCII, which
// UTF-8 extends), the result is "ISO_IR 192"; with any other character set, Error naming
// `where`, the dataset.json label and the source's character set. Error on a name that is not
// valid UTF-8.
std::string dicom_output_character_set(const std::string& source,
                                       const std::vector<DicomOutputLabel>& labels,
                                       const std::string& where);

// What the written object says about itself.
struct DicomOutputDescription {
  std::string series_description = "medseg segmentation";
  int64_t series_number = 0;         // 0: the source series' number + 900
  std::string algorithm = "medseg";  // SEG Segment Algorithm Name, RTSTRUCT ROI description
  std::string software_version = medseg_version();  // General Equipment Software Versions
};

// The SeriesNumber written: description.series_number, or (0) the source's + 900.
int64_t dicom_output_series_number(const DicomOutputDescription& description,
                                   int64_t source_series_number);

// An RGB display colour (0..255) for the i-th label: a fixed palette, repeated.
std::array<uint8_t, 3> dicom_output_color(size_t index);

// True when `path` is a complete DICOM file of the SOP class `sop_class_uid` (DCMTK reads it
// whole). False when it is missing or broken (predict --continue writes it again).
bool dicom_output_is_complete(const std::filesystem::path& path, const std::string& sop_class_uid);

// SOP Class UIDs of the written objects.
inline constexpr const char* kSegmentationStorageUid = "1.2.840.10008.5.1.4.1.1.66.4";
inline constexpr const char* kRtStructureSetStorageUid = "1.2.840.10008.5.1.4.1.1.481.3";

}  // namespace medseg
