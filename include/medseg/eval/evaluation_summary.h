// The result of a folder evaluation and its two files: summary.json (per case and label, the
// means per label and over labels; NaN written as null) and a CSV with one row per case and
// label. The schema is documented in docs/evaluation.md.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/eval/metrics.h"

namespace medseg {

// One evaluated class: a plain label (one value) or a region (voxels with any of its values).
struct EvaluatedLabel {
  std::string key;   // summary.json's key: "1" for a label, "(1, 2)" for a region
  std::string name;  // dataset.json's name; the key when there is none
  std::vector<int> values;
  double nsd_tolerance_mm = 1.0;
};

struct CaseEvaluation {
  std::string case_id;
  std::filesystem::path reference_file;
  std::filesystem::path prediction_file;
  bool prediction_missing = false;    // scored as an empty prediction
  std::vector<LabelMetrics> metrics;  // one per evaluated label, in the same order
};

// Metric name (as in summary.json) -> value.
using MetricValues = std::map<std::string, double>;

struct EvaluationSummary {
  std::vector<EvaluatedLabel> labels;
  std::vector<CaseEvaluation> cases;  // sorted by case id
  std::vector<MetricValues> mean;     // per label: mean over cases, NaN values skipped
  MetricValues foreground_mean;       // mean over the labels' means, NaN values skipped
  std::filesystem::path summary_file;
  std::filesystem::path csv_file;
};

// The metric names of summary.json and the CSV, in the CSV's column order.
const std::vector<std::string>& metric_names();
MetricValues metric_values(const LabelMetrics& metrics);

// Fills `mean` and `foreground_mean` from `cases`.
void compute_means(EvaluationSummary& summary);

nlohmann::json summary_to_json(const EvaluationSummary& summary);
std::string summary_to_csv(const EvaluationSummary& summary);

// Writes summary.json and the CSV (summary.csv for summary.json), each atomically.
void write_summary(const EvaluationSummary& summary);

// The CSV written beside a summary file: the same name with the extension ".csv".
std::filesystem::path csv_path_for(const std::filesystem::path& summary_file);

}  // namespace medseg
