// `medseg predict` on a folder of DICOM series: each series is a case (or, with a channel map,
// one series per channel of each case; io/dicom_cases.h), predicted in memory and written as
// <case><file_ending> in the series' geometry, with dicom_cases.json naming each case's series.
#pragma once

#include <filesystem>

#include "medseg/infer/predict_folder.h"
#include "medseg/infer/predictor.h"

namespace medseg {

// options.input is the DICOM folder (scan_dicom_folder); the split into parts, --continue and
// the previous stage (<case><file_ending> in previous_stage_dir) work as in predict_folder.
// channel_map: empty for single-channel models, else dicom_cases' JSON map. Also writes
// <output_dir>/dicom_cases.json: every case of the folder (all parts) and its series' UIDs.
// Probabilities (save_probabilities) are not written for DICOM input: UsageError.
PredictFolderResult predict_dicom_folder(const Predictor& predictor,
                                         const PredictFolderOptions& options,
                                         const std::filesystem::path& channel_map);

}  // namespace medseg
