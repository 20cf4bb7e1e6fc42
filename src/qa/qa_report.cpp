#include "medseg/qa/qa_report.h"

#include <fmt/format.h>

#include <map>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

std::string report_reasons(const CaseQa& c) {
  std::string text;
  for (const OodFinding& f : c.findings) text += (text.empty() ? "" : "; ") + f.reason;
  return text;
}

nlohmann::json report_finding_json(const OodFinding& f) {
  return {{"feature", f.feature}, {"kind", f.kind}, {"value", f.value},
          {"low", f.low},         {"high", f.high}, {"reason", f.reason}};
}

template <typename T>
T report_get(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    throw Error(where, std::string("a case lacks key '") + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where, std::string("key '") + key + "' has the wrong type");
  }
}

}  // namespace

nlohmann::json to_json(const QaReport& report, const DatasetInfo& dataset) {
  nlohmann::json cases = nlohmann::json::array();
  for (const CaseQa& c : report.cases) {
    nlohmann::json labels = nlohmann::json::object();
    for (const LabelInfo& label : dataset.foreground()) {
      const double* volume = c.features.find(volume_feature(label.name));
      const double* components = c.features.find(components_feature(label.name));
      labels[label.name] = {{"volume_mm3", volume ? *volume : 0.0},
                            {"components", components ? static_cast<int64_t>(*components) : 0}};
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const OodFinding& f : c.findings) findings.push_back(report_finding_json(f));
    nlohmann::json entry = {{"case", c.case_id},
                            {"output", c.output},
                            {"flagged", c.flagged()},
                            {"ood_checked", c.ood_checked},
                            {"reasons", report_reasons(c)},
                            {"findings", findings},
                            {"labels", labels},
                            {"features", to_json(c.features)["features"]},
                            {"picture", c.picture}};
    entry["uncertainty"] = c.uncertainty ? to_json(*c.uncertainty) : nlohmann::json();
    cases.push_back(entry);
  }
  return {{"model", report.model},
          {"ood_check", report.ood_note.empty() ? nlohmann::json("on")
                                                : nlohmann::json("off: " + report.ood_note)},
          {"volume_reference", report.volume_reference},
          {"summary", qa_summary_line(report)},
          {"cases", cases}};
}

std::string qa_report_csv(const QaReport& report, const DatasetInfo& dataset) {
  std::ostringstream out;
  out << "case,label,volume_mm3,components,flagged,mean_entropy,uncertain_fraction,"
         "mean_mutual_information,picture,reasons\n";
  for (const CaseQa& c : report.cases) {
    const std::string reasons = csv_field(report_reasons(c));
    for (const LabelInfo& label : dataset.foreground()) {
      const double* volume = c.features.find(volume_feature(label.name));
      const double* components = c.features.find(components_feature(label.name));
      out << csv_field(c.case_id) << ',' << csv_field(label.name) << ','
          << fmt::format("{:.3f}", volume ? *volume : 0.0) << ','
          << (components ? static_cast<int64_t>(*components) : 0) << ','
          << (c.flagged() ? "yes" : (c.ood_checked ? "no" : "unchecked")) << ',';
      if (c.uncertainty)
        out << fmt::format("{:.6f},{:.6f},{:.6f}", c.uncertainty->mean_entropy,
                           c.uncertainty->uncertain_fraction,
                           c.uncertainty->mean_mutual_information);
      else
        out << ",,";
      out << ',' << csv_field(c.picture) << ',' << reasons << '\n';
    }
  }
  return out.str();
}

void write_qa_report(const QaReport& report, const DatasetInfo& dataset, const fs::path& dir,
                     const std::string& stem) {
  write_json(dir / (stem + ".json"), to_json(report, dataset));
  write_text_atomically(dir / (stem + ".csv"), qa_report_csv(report, dataset));
}

std::vector<CaseQa> read_qa_report_cases(const fs::path& file) {
  std::vector<CaseQa> cases;
  if (!fs::exists(file)) return cases;
  const nlohmann::json j = read_json(file);
  const std::string where = file.string();
  if (!j.is_object() || !j.contains("cases") || !j["cases"].is_array())
    throw Error(where, "is not a medseg QA report (no 'cases' list)");
  for (const auto& e : j["cases"]) {
    CaseQa c;
    c.case_id = report_get<std::string>(e, "case", where);
    c.output = report_get<std::string>(e, "output", where);
    c.ood_checked = report_get<bool>(e, "ood_checked", where);
    c.picture = report_get<std::string>(e, "picture", where);
    c.features = case_features_from_json(
        {{"case", c.case_id}, {"features", report_get<nlohmann::json>(e, "features", where)}},
        where);
    for (const auto& f : report_get<nlohmann::json>(e, "findings", where))
      c.findings.push_back(
          {report_get<std::string>(f, "feature", where), report_get<std::string>(f, "kind", where),
           report_get<double>(f, "value", where), report_get<double>(f, "low", where),
           report_get<double>(f, "high", where), report_get<std::string>(f, "reason", where)});
    const nlohmann::json u = report_get<nlohmann::json>(e, "uncertainty", where);
    if (!u.is_null()) {
      UncertaintyScore s;
      s.foreground_voxels = report_get<int64_t>(u, "foreground_voxels", where);
      s.mean_entropy = report_get<double>(u, "mean_entropy", where);
      s.uncertain_fraction = report_get<double>(u, "uncertain_fraction", where);
      s.mean_mutual_information = report_get<double>(u, "mean_mutual_information", where);
      s.image_mean_entropy = report_get<double>(u, "image_mean_entropy", where);
      c.uncertainty = s;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string qa_summary_line(const QaReport& report) {
  const size_t n = report.cases.size();
  const std::string of = std::to_string(n) + (n == 1 ? " case" : " cases");
  if (!report.ood_note.empty()) return of + ", out-of-distribution check off: " + report.ood_note;
  std::map<std::string, int> kinds;
  size_t flagged = 0;
  for (const CaseQa& c : report.cases) {
    if (!c.flagged()) continue;
    ++flagged;
    std::map<std::string, bool> seen;
    for (const OodFinding& f : c.findings)
      if (!seen[f.kind]) seen[f.kind] = true, ++kinds[f.kind];
  }
  if (flagged == 0) return "none of " + of + " flagged out of distribution";
  std::string detail;
  for (const auto& [kind, count] : kinds)
    detail += (detail.empty() ? "" : ", ") + kind + ": " + std::to_string(count);
  return std::to_string(flagged) + " of " + of + " flagged out of distribution (" + detail + ")";
}

}  // namespace medseg
