#include "medseg/qa/ood.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

namespace {

enum class OodScale { kLinear, kLog };

struct OodRule {
  std::string feature;
  std::string kind;
  std::string description;  // "spacing along z (mm)"
  OodScale scale = OodScale::kLinear;
  double floor = 0;  // least width of the range, in the rule's scale
};

double ood_transform(double v, OodScale scale) {
  return scale == OodScale::kLog ? std::log(std::max(v, 1e-12)) : v;
}

std::string ood_channel_name(const DatasetInfo& dataset, size_t c) {
  std::string name = "channel " + std::to_string(c);
  if (c < dataset.channel_names.size()) name += " (" + dataset.channel_names[c] + ")";
  return name;
}

std::vector<double> ood_values(const std::vector<CaseFeatures>& cases, const std::string& name) {
  std::vector<double> values;
  for (const auto& c : cases)
    if (const double* v = c.find(name)) values.push_back(*v);
  return values;
}

double ood_median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<OodRule> ood_rules(const TrainingProfile& profile, const DatasetInfo& dataset) {
  std::vector<OodRule> rules;
  const CaseFeatures& first = profile.cases.front();
  for (const char* axis : {"z", "y", "x"}) {
    const std::string spacing = std::string("spacing_") + axis;
    if (first.find(spacing))
      rules.push_back({spacing, "spacing", std::string("spacing along ") + axis + " (mm)",
                       OodScale::kLog, std::log(1.10)});
    const std::string extent = std::string("extent_") + axis;
    if (first.find(extent))
      rules.push_back({extent, "extent",
                       std::string("extent of the scanned region along ") + axis + " (mm)",
                       OodScale::kLog, std::log(1.10)});
  }
  for (size_t c = 0; c < profile.normalization_schemes.size(); ++c) {
    const std::string prefix = "ch" + std::to_string(c) + "_";
    const std::string channel = ood_channel_name(dataset, c);
    if (normalization_keeps_units(profile.normalization_schemes[c])) {
      // A floor of 2% of the typical intensity span (CT: ~40 HU of a 2000 HU span).
      const double span = ood_median(ood_values(profile.cases, prefix + "p99")) -
                          ood_median(ood_values(profile.cases, prefix + "p01"));
      const double floor = std::max(0.02 * std::abs(span), 1e-6);
      for (const auto& [q, text] :
           {std::pair<const char*, const char*>{"p01", "1st"}, {"p50", "50th"}, {"p99", "99th"}})
        rules.push_back({prefix + q, "intensity", channel + " intensity " + text + " percentile",
                         OodScale::kLinear, floor});
    }
    // The distribution's shape, whatever the normalisation: another modality or contrast
    // has another one (checked for units-keeping channels too: a CT's is characteristic).
    for (const auto& [q, text] : {std::pair<const char*, const char*>{"z05", "5th"},
                                  {"z25", "25th"},
                                  {"z75", "75th"},
                                  {"z95", "95th"}})
      rules.push_back({prefix + q, "intensity shape",
                       channel + " z-scored " + text +
                           " percentile (the shape of its intensity "
                           "distribution)",
                       OodScale::kLinear, 0.1});
  }
  for (const LabelInfo& label : dataset.foreground())
    rules.push_back({volume_feature(label.name), "volume", "volume of " + label.name + " (mm^3)",
                     OodScale::kLog, std::log(1.25)});
  return rules;
}

std::string ood_number(double v) {
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-2)) return fmt::format("{:.3g}", v);
  return fmt::format("{:.2f}", v);
}

}  // namespace

std::vector<std::string> checked_features(const TrainingProfile& profile,
                                          const DatasetInfo& dataset) {
  std::vector<std::string> names;
  for (const OodRule& r : ood_rules(profile, dataset)) names.push_back(r.feature);
  return names;
}

std::vector<OodFinding> check_out_of_distribution(const TrainingProfile& profile,
                                                  const CaseFeatures& features,
                                                  const DatasetInfo& dataset,
                                                  const OodOptions& options) {
  if (profile.cases.empty()) throw Error(profile.source, "the training profile holds no case");
  if (profile.normalization_schemes.size() != dataset.channel_names.size())
    throw Error(profile.source, "describes " +
                                    std::to_string(profile.normalization_schemes.size()) +
                                    " channel(s), the model's dataset.json " +
                                    std::to_string(dataset.channel_names.size()));
  std::vector<OodFinding> findings;
  const bool cross_validated = compare_with_validation_volumes(profile);
  const std::string volume_source = volume_reference_name(profile);
  for (const OodRule& rule : ood_rules(profile, dataset)) {
    const double* value = features.find(rule.feature);
    if (!value) continue;  // a 2D case has no spacing_z
    const bool volume = rule.kind == "volume";
    const std::vector<CaseFeatures>& reference =
        volume && cross_validated ? profile.validation_predictions : profile.cases;
    std::vector<double> training = ood_values(reference, rule.feature);
    if (training.empty()) continue;
    const std::string cases_text = std::to_string(training.size()) +
                                   (volume ? " " + volume_source : std::string(" training cases"));
    if (volume) {
      const auto present =
          std::count_if(training.begin(), training.end(), [](double v) { return v > 0; });
      if (*value <= 0) {
        if (present == static_cast<std::ptrdiff_t>(training.size()))
          findings.push_back(
              {rule.feature, "missing structure", *value, 0, 0,
               "no " + rule.feature.substr(7) + " predicted, but all " + cases_text + " have it"});
        continue;
      }
      if (present == 0) {
        findings.push_back({rule.feature, "unseen structure", *value, 0, 0,
                            rule.feature.substr(7) + " predicted (" + ood_number(*value) +
                                " mm^3), but none of the " + cases_text + " has it"});
        continue;
      }
      training.erase(
          std::remove_if(training.begin(), training.end(), [](double v) { return v <= 0; }),
          training.end());
    }
    if (training.size() < kMinProfileCases) continue;  // no range to speak of (docs)
    const auto [lo_it, hi_it] = std::minmax_element(training.begin(), training.end());
    const double lo = *lo_it, hi = *hi_it;
    const double t_lo = ood_transform(lo, rule.scale), t_hi = ood_transform(hi, rule.scale);
    const double width = std::max(t_hi - t_lo, rule.floor);
    const double t = ood_transform(*value, rule.scale);
    const double slack =
        options.tolerance / std::sqrt(static_cast<double>(training.size())) * width;
    if (t >= t_lo - slack && t <= t_hi + slack) continue;
    findings.push_back({rule.feature, rule.kind, *value, lo, hi,
                        rule.description + " " + ood_number(*value) +
                            " is outside the range of the " + cases_text + " [" + ood_number(lo) +
                            ", " + ood_number(hi) + "]"});
  }
  return findings;
}

}  // namespace medseg
