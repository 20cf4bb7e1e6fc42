// The QA report of a prediction folder (report.json and report.csv beside the masks): per case
// and label the volume in mm^3 and the number of connected components, the case's uncertainty
// score (with --uncertainty), its out-of-distribution findings and their reasons, and the
// picture written for it; a one-line console summary ("2 of 40 cases flagged").
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/qa/case_features.h"
#include "medseg/qa/ood.h"
#include "medseg/qa/uncertainty.h"

namespace medseg {

struct CaseQa {
  std::string case_id;
  std::string output;     // the mask's file name
  CaseFeatures features;  // the scan's features and the prediction's volume_* / components_*
  std::optional<UncertaintyScore> uncertainty;
  bool ood_checked = false;  // false: the model has no training profile
  std::vector<OodFinding> findings;
  std::string picture;  // the PNG, relative to the report; empty: none written

  bool flagged() const { return !findings.empty(); }
};

struct QaReport {
  std::string model;  // the model folder
  // Why the out-of-distribution check did not run (no training profile, or --no-ood-check);
  // empty when it did.
  std::string ood_note;
  std::string volume_reference;  // "cross-validation predictions" or "training labels"
  std::vector<CaseQa> cases;
};

// report.json: {"model", "ood_check", "summary", "cases": [{case, output, flagged, reasons,
// findings, uncertainty, labels: {name: {volume_mm3, components}}, features, picture}]}.
nlohmann::json to_json(const QaReport& report, const DatasetInfo& dataset);
// One row per case and foreground label: case, label, volume_mm3, components, flagged,
// mean_entropy, uncertain_fraction, mean_mutual_information, picture, reasons ("; "-joined).
std::string qa_report_csv(const QaReport& report, const DatasetInfo& dataset);

// Writes <dir>/<stem>.json and <dir>/<stem>.csv atomically.
void write_qa_report(const QaReport& report, const DatasetInfo& dataset,
                     const std::filesystem::path& dir, const std::string& stem = "report");

// The cases of an earlier report.json in the same folder (medseg predict --continue keeps the
// rows of the cases it does not predict again); empty when the file is absent. Error naming the
// file when it cannot be read.
std::vector<CaseQa> read_qa_report_cases(const std::filesystem::path& file);

// "2 of 40 cases flagged (spacing: 1, volume: 1)" / "none of 40 cases flagged" /
// "40 cases, out-of-distribution check off: <note>".
std::string qa_summary_line(const QaReport& report);

}  // namespace medseg
