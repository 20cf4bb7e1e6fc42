#include "medseg/eval/evaluation_summary.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "medseg/core/files.h"
#include "medseg/eval/metrics.h"

namespace medseg {

using nlohmann::json;

namespace {

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json metric_values_to_json(const MetricValues& values) {
  json out = json::object();
  for (const auto& [name, v] : values) out[name] = number_or_null(v);
  return out;
}

// Per-case metrics: counts as integers, the rest as numbers or null.
json label_metrics_to_json(const LabelMetrics& m) {
  json out = metric_values_to_json(metric_values(m));
  out["TP"] = m.counts.tp;
  out["FP"] = m.counts.fp;
  out["FN"] = m.counts.fn;
  out["TN"] = m.counts.tn;
  out["n_ref"] = m.counts.n_ref;
  out["n_pred"] = m.counts.n_pred;
  return out;
}

// The metrics in the CSV's column order, each with how to read it from LabelMetrics.
struct MetricField {
  const char* name;
  double (*get)(const LabelMetrics&);
};
using M = const LabelMetrics&;
const MetricField kMetricFields[] = {
    {"Dice", [](M m) { return m.dice; }},
    {"IoU", [](M m) { return m.iou; }},
    {"HD95", [](M m) { return m.hd95; }},
    {"HD", [](M m) { return m.hd; }},
    {"ASSD", [](M m) { return m.assd; }},
    {"NSD", [](M m) { return m.nsd; }},
    {"TP", [](M m) { return static_cast<double>(m.counts.tp); }},
    {"FP", [](M m) { return static_cast<double>(m.counts.fp); }},
    {"FN", [](M m) { return static_cast<double>(m.counts.fn); }},
    {"TN", [](M m) { return static_cast<double>(m.counts.tn); }},
    {"n_ref", [](M m) { return static_cast<double>(m.counts.n_ref); }},
    {"n_pred", [](M m) { return static_cast<double>(m.counts.n_pred); }},
    {"volume_ref_mm3", [](M m) { return m.volume_ref_mm3; }},
    {"volume_pred_mm3", [](M m) { return m.volume_pred_mm3; }},
    {"abs_volume_diff_mm3", [](M m) { return m.abs_volume_diff_mm3; }},
    {"rel_volume_diff", [](M m) { return m.rel_volume_diff; }},
};

}  // namespace

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const MetricField& field : kMetricFields) out.emplace_back(field.name);
    return out;
  }();
  return names;
}

MetricValues metric_values(const LabelMetrics& m) {
  MetricValues out;
  for (const MetricField& field : kMetricFields) out[field.name] = field.get(m);
  return out;
}

void compute_means(EvaluationSummary& summary) {
  summary.mean.assign(summary.labels.size(), {});
  for (size_t l = 0; l < summary.labels.size(); ++l)
    for (const std::string& name : metric_names()) {
      std::vector<double> values;
      for (const auto& c : summary.cases) values.push_back(metric_values(c.metrics[l]).at(name));
      summary.mean[l][name] = mean_ignoring_nan(values);
    }
  summary.foreground_mean.clear();
  for (const std::string& name : metric_names()) {
    std::vector<double> values;
    for (const auto& m : summary.mean) values.push_back(m.at(name));
    summary.foreground_mean[name] = mean_ignoring_nan(values);
  }
}

json summary_to_json(const EvaluationSummary& summary) {
  json labels = json::object(), mean = json::object(), per_case = json::array();
  for (size_t l = 0; l < summary.labels.size(); ++l) {
    const EvaluatedLabel& label = summary.labels[l];
    labels[label.key] = {{"name", label.name},
                         {"values", label.values},
                         {"nsd_tolerance_mm", label.nsd_tolerance_mm}};
    if (l < summary.mean.size()) mean[label.key] = metric_values_to_json(summary.mean[l]);
  }
  int missing = 0;
  for (const auto& c : summary.cases) {
    json metrics = json::object();
    for (size_t l = 0; l < summary.labels.size(); ++l)
      metrics[summary.labels[l].key] = label_metrics_to_json(c.metrics[l]);
    per_case.push_back({{"case", c.case_id},
                        {"reference_file", c.reference_file.string()},
                        {"prediction_file", c.prediction_file.string()},
                        {"prediction_missing", c.prediction_missing},
                        {"metrics", std::move(metrics)}});
    missing += c.prediction_missing ? 1 : 0;
  }
  return {{"labels", std::move(labels)},
          {"num_cases", summary.cases.size()},
          {"num_missing_predictions", missing},
          {"metric_per_case", std::move(per_case)},
          {"mean", std::move(mean)},
          {"foreground_mean", metric_values_to_json(summary.foreground_mean)}};
}

std::string summary_to_csv(const EvaluationSummary& summary) {
  std::ostringstream out;
  out << "case,reference_file,prediction_file,prediction_missing,label,label_name";
  for (const std::string& name : metric_names()) out << ',' << name;
  out << '\n';
  for (const auto& c : summary.cases)
    for (size_t l = 0; l < summary.labels.size(); ++l) {
      out << csv_field(c.case_id) << ',' << csv_field(c.reference_file.string()) << ','
          << csv_field(c.prediction_file.string()) << ',' << (c.prediction_missing ? 1 : 0) << ','
          << csv_field(summary.labels[l].key) << ',' << csv_field(summary.labels[l].name);
      const MetricValues values = metric_values(c.metrics[l]);
      for (const std::string& name : metric_names())
        out << ',' << fmt::format("{}", values.at(name));
      out << '\n';
    }
  return out.str();
}

std::filesystem::path csv_path_for(const std::filesystem::path& summary_file) {
  std::filesystem::path csv = summary_file;
  return csv.replace_extension(".csv");
}

void write_summary(const EvaluationSummary& summary) {
  write_text_atomically(summary.csv_file, summary_to_csv(summary));
  write_json(summary.summary_file, summary_to_json(summary));
}

}  // namespace medseg
