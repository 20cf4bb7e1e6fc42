// `medseg predict` on a folder of DICOM series: each series is a case (or, with a channel map,
// one series per channel of each case; io/dicom_cases.h), predicted in memory and written as
// <case><file_ending> in the series' geometry, as a DICOM SEG and/or as an RT Structure Set
// (--output-format), with dicom_cases.json naming each case's series and files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/infer/predict_folder.h"
#include "medseg/infer/predictor.h"

namespace medseg {

// What `medseg predict` writes per DICOM case (--output-format); any combination.
struct DicomPredictionOutputs {
  bool nifti = true;       // "nifti": <case><file_ending> (dataset.json's file ending)
  bool dicom_seg = false;  // "dicom-seg": <case>.seg.dcm (io/dicom_seg_writer.h)
  bool rtstruct = false;   // "rtstruct": <case>.rtstruct.dcm (io/dicom_rtstruct_writer.h)

  bool any_dicom() const { return dicom_seg || rtstruct; }
};

// The --output-format values: "nifti", "dicom-seg", "rtstruct" (empty: nifti alone).
// UsageError naming an unknown value.
DicomPredictionOutputs parse_output_formats(const std::vector<std::string>& values);

inline constexpr const char* kDicomSegFileEnding = ".seg.dcm";
inline constexpr const char* kRtStructFileEnding = ".rtstruct.dcm";

// options.input is the DICOM folder (scan_dicom_folder); the split into parts, --continue and
// the previous stage (<case><file_ending> in previous_stage_dir) work as in predict_folder.
// channel_map: empty for single-channel models, else dicom_cases' JSON map. Also writes
// <output_dir>/dicom_cases.json: every case of the folder (all parts) and its series' UIDs.
// Probabilities (save_probabilities) are not written for DICOM input: UsageError.
// The DICOM outputs reference the case's channel 0 series, segments / ROIs named after
// dataset.json's labels (io/dicom_output.h); --continue skips a case when every requested file is
// complete.
PredictFolderResult predict_dicom_folder(
    const Predictor& predictor, const PredictFolderOptions& options,
    const std::filesystem::path& channel_map,
    const DicomPredictionOutputs& outputs = DicomPredictionOutputs());

}  // namespace medseg
