// `medseg drift`: is a batch of new scans (or several, in order: months, sites, scanners) still
// what the model was trained on? Each feature of the scans (qa/case_features.h: spacing,
// extent, intensity percentiles raw and z-scored; the checked ones of qa/ood.h, without the
// volumes, which need a prediction) is compared with the training cases' by a two-sample
// Kolmogorov-Smirnov test. A feature has drifted in a batch when the test rejects "same
// distribution" at `alpha` after a Bonferroni correction over the features, and the distance D
// is at least `min_statistic` (large batches make tiny, harmless differences significant).
// The batch's verdict is "drift" when a feature has drifted, else "stable"; beside it, the
// share of its cases the per-case out-of-distribution check flags.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/qa/case_features.h"
#include "medseg/qa/ood.h"
#include "medseg/qa/statistics.h"
#include "medseg/qa/training_profile.h"

namespace medseg {

struct DriftOptions {
  double alpha = 0.01;         // family-wise, over the features
  double min_statistic = 0.3;  // the least KS distance D that counts as drift
  OodOptions ood;              // the per-case check
};

struct DriftBatch {
  std::string name;  // the folder
  std::vector<CaseFeatures> cases;
};

struct DriftFeature {
  std::string feature;
  std::vector<double> training;             // the training cases' values
  std::vector<std::vector<double>> values;  // per batch
  std::vector<KsResult> tests;              // per batch
  std::vector<bool> drifted;                // per batch
};

struct DriftReport {
  std::vector<std::string> batches;
  std::vector<size_t> batch_cases;
  std::vector<size_t> flagged_cases;  // per batch: cases the out-of-distribution check flags
  std::vector<std::string> verdicts;  // per batch: "drift" or "stable"
  std::vector<DriftFeature> features;
  size_t training_cases = 0;
  DriftOptions options;
};

// Error when a batch is empty.
DriftReport compare_batches(const TrainingProfile& profile, const std::vector<DriftBatch>& batches,
                            const DatasetInfo& dataset, const DriftOptions& options = {});

nlohmann::json to_json(const DriftReport& report);

// <dir>/drift.json and <dir>/drift.svg (qa/drift_plot.h), each atomically.
void write_drift_report(const DriftReport& report, const std::filesystem::path& dir);

// "batch <name>: drift (ch0_z95 D=0.81, spacing_z D=1.00); 3 of 12 cases flagged" per batch.
std::vector<std::string> drift_summary_lines(const DriftReport& report);

}  // namespace medseg
