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
#include "medseg/qa/case_features.h"

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
  // Cascade stage: the previous stage's predictions of the same cases in the input geometry
  // (<previous model>/fold_<k>/validation/<case><file_ending>); empty: none.
  std::filesystem::path previous_stage_dir;
  // 3d_lowres (a configuration with a next stage): also write each case's segmentation on the
  // next stage's grid into this folder (<model>/predicted_next_stage/<next>/); empty: don't.
  std::filesystem::path next_stage_dir;
};

// Predicts the listed cases with `network` as it is (in memory; switched to inference mode),
// writing <output_dir>/<case><file_ending>, and with next_stage_dir each case's
// next_stage_file; data-parallel ranks each predict their share. Returns the QA features
// (qa/case_features.h) of the cases this process predicted, computed from what it had in
// memory. Throws Error naming the case when its raw images or its previous stage's
// segmentation are missing.
std::vector<CaseFeatures> predict_validation_cases(const Plans& plans,
                                                   const std::string& configuration,
                                                   const DatasetInfo& dataset, UNet network,
                                                   c10::Device device,
                                                   const FinalValidationOptions& options);

// The reference's predicted_next_stage: `segmentation` (a prediction in the input geometry of
// the case's raw `images`) preprocessed like a label for configuration `next` (transposed,
// cropped, resampled one-hot onto its grid, -1 outside the nonzero mask), written atomically
// as an int16 (1, spatial...) .npy to `file`. Cascade training reads these
// (PreprocessedCaseSource) and checks them against the preprocessed case's shape.
void write_next_stage_segmentation(const std::vector<std::filesystem::path>& images,
                                   const std::filesystem::path& segmentation, const Plans& plans,
                                   const std::string& next, const std::filesystem::path& file,
                                   int threads);

// The QA features (qa/case_features.h) of the predicted validation cases, written to
// <prediction_dir>/case_features.json: the cross-validation volumes that the
// out-of-distribution check compares new predictions with (qa/training_profile.h). Cases in
// `known` (this process's share, from predict_validation_cases) are taken as they are; the
// others (other ranks' shares) are read back from the raw images and
// <prediction_dir>/<case><file_ending>.
void write_validation_features(const std::filesystem::path& dataset_dir,
                               const std::filesystem::path& prediction_dir,
                               const std::vector<std::string>& case_ids, const DatasetInfo& dataset,
                               int threads, const std::vector<CaseFeatures>& known = {});

// <dir>/<case>.npy
std::filesystem::path next_stage_file(const std::filesystem::path& dir, const std::string& case_id);

// Scores the predictions of `case_ids` in `prediction_dir` against `reference_dir` (and no other
// reference case), writing <prediction_dir>/summary.json.
EvaluationSummary evaluate_cases(const std::filesystem::path& reference_dir,
                                 const std::filesystem::path& prediction_dir,
                                 const std::vector<std::string>& case_ids,
                                 const DatasetInfo& dataset, int threads);

}  // namespace medseg
