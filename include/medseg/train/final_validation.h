// The end of a fold's training (the reference's perform_actual_validation): every validation
// case predicted from its raw images with the real predictor (sliding window, Gaussian
// weighting, mirroring as trained), written as <output_dir>/<case><file_ending>, and scored
// against the reference labels into <output_dir>/summary.json (+ summary.csv):
// predict_validation_cases, then evaluate_cases.
#pragma once

#include <c10/core/Device.h>

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/eval/evaluation_summary.h"
#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"
#include "medseg/nn/unet.h"

namespace medseg {

struct FinalValidationOptions {
  std::filesystem::path dataset_dir;    // raw dataset (imagesTr/<case>_XXXX<file_ending>)
  std::filesystem::path reference_dir;  // <work_dir>/gt_segmentations
  std::filesystem::path output_dir;     // <fold>/validation
  std::vector<std::string> case_ids;    // the fold's validation cases
  double step_size = 0.5;
  bool mirroring = true;
  bool save_probabilities = false;
  int threads = 0;                         // export and evaluation threads; <= 0: all cores
  Precision precision = Precision::kAuto;  // the network's compute precision (nn/precision.h)
};

// Predicts the listed cases with `network` as it is (in memory; switched to inference mode),
// writing <output_dir>/<case><file_ending>; data-parallel ranks each predict their share. Throws
// Error naming the case when its raw images are missing.
void predict_validation_cases(const Plans& plans, const std::string& configuration,
                              const DatasetInfo& dataset, UNet network, c10::Device device,
                              const FinalValidationOptions& options);

// Scores the predictions of `case_ids` in `prediction_dir` against `reference_dir` (and no other
// reference case), writing <prediction_dir>/summary.json.
EvaluationSummary evaluate_cases(const std::filesystem::path& reference_dir,
                                 const std::filesystem::path& prediction_dir,
                                 const std::vector<std::string>& case_ids,
                                 const DatasetInfo& dataset, int threads);

}  // namespace medseg
