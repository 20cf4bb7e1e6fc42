#include "medseg/qa/drift.h"

#include <fmt/format.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/qa/drift_plot.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

std::vector<double> drift_values(const std::vector<CaseFeatures>& cases, const std::string& name) {
  std::vector<double> values;
  for (const CaseFeatures& c : cases)
    if (const double* v = c.find(name)) values.push_back(*v);
  return values;
}

}  // namespace

DriftReport compare_batches(const TrainingProfile& profile, const std::vector<DriftBatch>& batches,
                            const DatasetInfo& dataset, const DriftOptions& options) {
  if (batches.empty()) throw UsageError("medseg drift", "no batch of scans to compare");
  DriftReport report;
  report.options = options;
  report.training_cases = profile.cases.size();
  for (const DriftBatch& b : batches) {
    if (b.cases.empty()) throw Error(b.name, "holds no case to compare");
    report.batches.push_back(b.name);
    report.batch_cases.push_back(b.cases.size());
    size_t flagged = 0;
    for (const CaseFeatures& c : b.cases)
      if (!check_out_of_distribution(profile, c, dataset, options.ood).empty()) ++flagged;
    report.flagged_cases.push_back(flagged);
  }
  std::vector<std::string> names;
  for (const std::string& name : checked_features(profile, dataset))
    if (name.rfind("volume_", 0) != 0 && profile.cases.front().find(name)) names.push_back(name);
  const double corrected_alpha =
      options.alpha / static_cast<double>(std::max<size_t>(1, names.size()));
  std::vector<bool> any(batches.size(), false);
  for (const std::string& name : names) {
    DriftFeature f;
    f.feature = name;
    f.training = drift_values(profile.cases, name);
    for (size_t b = 0; b < batches.size(); ++b) {
      std::vector<double> values = drift_values(batches[b].cases, name);
      if (values.empty())
        throw Error(batches[b].name, "its cases lack feature '" + name +
                                         "' (2D scans for a 3D model, or another channel count?)");
      const KsResult ks = ks_two_sample(f.training, values, name + " in " + batches[b].name);
      const bool drifted = ks.p_value < corrected_alpha && ks.statistic >= options.min_statistic;
      any[b] = any[b] || drifted;
      f.values.push_back(std::move(values));
      f.tests.push_back(ks);
      f.drifted.push_back(drifted);
    }
    report.features.push_back(std::move(f));
  }
  for (size_t b = 0; b < batches.size(); ++b)
    report.verdicts.push_back(any[b] ? "drift" : "stable");
  return report;
}

nlohmann::json to_json(const DriftReport& r) {
  nlohmann::json batches = nlohmann::json::array();
  for (size_t b = 0; b < r.batches.size(); ++b) {
    nlohmann::json features = nlohmann::json::object();
    for (const DriftFeature& f : r.features)
      features[f.feature] = {{"ks_statistic", f.tests[b].statistic},
                             {"p_value", f.tests[b].p_value},
                             {"drifted", static_cast<bool>(f.drifted[b])},
                             {"median", quantile(f.values[b], 0.5)},
                             {"training_median", quantile(f.training, 0.5)}};
    batches.push_back({{"batch", r.batches[b]},
                       {"cases", r.batch_cases[b]},
                       {"verdict", r.verdicts[b]},
                       {"cases_flagged_out_of_distribution", r.flagged_cases[b]},
                       {"features", features}});
  }
  return {{"training_cases", r.training_cases},
          {"test", "two-sample Kolmogorov-Smirnov per feature"},
          {"alpha", r.options.alpha},
          {"alpha_per_feature", r.options.alpha / std::max<double>(1, r.features.size())},
          {"min_ks_statistic", r.options.min_statistic},
          {"ood_tolerance", r.options.ood.tolerance},
          {"summary", drift_summary_lines(r)},
          {"batches", batches}};
}

void write_drift_report(const DriftReport& r, const fs::path& dir) {
  fs::create_directories(dir);
  write_json(dir / "drift.json", to_json(r));
  std::vector<DriftPlotRow> rows;
  for (const DriftFeature& f : r.features) {
    DriftPlotRow row;
    row.feature = f.feature;
    row.training = f.training;
    row.batches = f.values;
    for (const KsResult& t : f.tests) row.ks.push_back(t.statistic);
    row.drifted = f.drifted;
    rows.push_back(std::move(row));
  }
  write_drift_svg(rows, r.batches,
                  "Drift against " + std::to_string(r.training_cases) + " training cases",
                  dir / "drift.svg");
}

std::vector<std::string> drift_summary_lines(const DriftReport& r) {
  std::vector<std::string> lines;
  for (size_t b = 0; b < r.batches.size(); ++b) {
    std::string detail;
    for (const DriftFeature& f : r.features)
      if (f.drifted[b])
        detail += (detail.empty() ? "" : ", ") + f.feature +
                  fmt::format(" D={:.2f}", f.tests[b].statistic);
    lines.push_back("batch " + r.batches[b] + ": " + r.verdicts[b] +
                    (detail.empty() ? "" : " (" + detail + ")") + "; " +
                    std::to_string(r.flagged_cases[b]) + " of " + std::to_string(r.batch_cases[b]) +
                    " cases flagged out of distribution");
  }
  return lines;
}

}  // namespace medseg
