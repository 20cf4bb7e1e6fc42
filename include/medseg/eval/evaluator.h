// `medseg evaluate`: pairs the label files of a reference folder and a prediction folder by
// case name (file name minus the file ending), scores every case and label with
// eval/metrics.h (cases in parallel) and writes summary.json and summary.csv.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "medseg/eval/evaluation_summary.h"
#include "medseg/io/dataset.h"

namespace medseg {

// Plain labels from their values: key "1" and name "1" for value 1.
std::vector<EvaluatedLabel> labels_from_values(const std::vector<int>& values);
// The foreground labels of dataset.json, or its regions when it declares regions.
std::vector<EvaluatedLabel> labels_from_dataset(const DatasetInfo& info);

struct EvaluationOptions {
  std::filesystem::path reference_dir;
  std::filesystem::path prediction_dir;
  std::vector<EvaluatedLabel> labels;  // labels_from_values / labels_from_dataset
  double nsd_tolerance_mm = 1.0;
  // Tolerance per label, by key ("1", "(1, 2)") or name; overrides nsd_tolerance_mm.
  std::map<std::string, double> nsd_tolerance_per_label;
  int threads = 0;  // cases in parallel; <= 0: all cores
  std::string file_ending = ".nii.gz";
  // Voxels whose reference holds this value are left out of every metric (the reference's
  // evaluation with dataset.json's "ignore" label): sparse annotations score only where
  // annotated.
  std::optional<int> ignore_label;
  std::filesystem::path summary_file;  // empty: <prediction_dir>/summary.json
};

// Evaluates every reference case and writes the summary files (EvaluationSummary's paths).
// A missing prediction is logged as a warning and scored as an empty mask; predictions
// without a reference are logged and ignored. Throws Error naming the file(s) when a file
// cannot be read, is not a 2D/3D label image, or when prediction and reference differ in
// shape or geometry; nothing is written then.
EvaluationSummary evaluate_folders(const EvaluationOptions& options);

}  // namespace medseg
