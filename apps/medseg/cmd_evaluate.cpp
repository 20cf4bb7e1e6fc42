// `medseg evaluate`: scores a folder of predicted label maps against the reference labels
// (Dice, IoU, HD95, HD, ASSD, NSD, volumes), writes summary.json + summary.csv and prints the
// per-label means.
#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/eval/evaluator.h"
#include "medseg/io/dataset.h"

namespace medseg::app {

namespace {

struct EvaluateArgs {
  std::string reference_dir;
  std::string prediction_dir;
  std::string dataset_json;
  std::vector<int> labels;
  std::string output;
  double nsd_tolerance = 1.0;
  std::vector<std::string> nsd_tolerance_per_label;  // "LABEL:MM"
  int threads = -1;                                  // -1: the global --threads
  std::string file_ending;
  std::optional<int> ignore_label;
};

double parse_millimetres(const std::string& text, const std::string& item) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw UsageError("--nsd-tolerance-per-label", "'" + item + "' is not LABEL:MM");
  return value;
}

std::map<std::string, double> parse_tolerances(const std::vector<std::string>& items) {
  std::map<std::string, double> out;
  for (const std::string& item : items) {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw UsageError("--nsd-tolerance-per-label", "'" + item + "' is not LABEL:MM");
    out[item.substr(0, colon)] = parse_millimetres(item.substr(colon + 1), item);
  }
  return out;
}

EvaluationOptions to_options(const EvaluateArgs& args, const GlobalOptions& global) {
  if (args.dataset_json.empty() == args.labels.empty())
    throw UsageError("medseg evaluate", "give exactly one of -d/--dataset-json and -l/--labels");
  EvaluationOptions o;
  o.reference_dir = args.reference_dir;
  o.prediction_dir = args.prediction_dir;
  if (!args.dataset_json.empty()) {
    const DatasetInfo info = read_dataset_json(args.dataset_json);
    o.labels = labels_from_dataset(info);
    o.file_ending = info.file_ending;
    o.ignore_label = info.ignore_label;
  } else {
    if (std::set<int>(args.labels.begin(), args.labels.end()).size() != args.labels.size())
      throw UsageError("--labels", "a label value is listed twice");
    o.labels = labels_from_values(args.labels);
  }
  if (!args.file_ending.empty()) o.file_ending = args.file_ending;
  if (args.ignore_label) {
    if (o.ignore_label && *o.ignore_label != *args.ignore_label)
      throw UsageError("--ignore-label", std::to_string(*args.ignore_label) + " differs from " +
                                             args.dataset_json + "'s ignore label " +
                                             std::to_string(*o.ignore_label));
    o.ignore_label = args.ignore_label;
  }
  o.nsd_tolerance_mm = args.nsd_tolerance;
  o.nsd_tolerance_per_label = parse_tolerances(args.nsd_tolerance_per_label);
  o.threads = args.threads >= 0 ? args.threads : global.threads;
  o.summary_file = args.output;
  return o;
}

std::string cell(double v) {
  return std::isnan(v) ? "nan" : fmt::format("{:.4f}", v);
}

void print_table(const EvaluationSummary& s) {
  const auto row = [](const std::string& label, const MetricValues& m) {
    fmt::print("{:<20} {:>8} {:>8} {:>10} {:>10} {:>8}\n", label, cell(m.at("Dice")),
               cell(m.at("IoU")), cell(m.at("HD95")), cell(m.at("ASSD")), cell(m.at("NSD")));
  };
  fmt::print("{:<20} {:>8} {:>8} {:>10} {:>10} {:>8}\n", "label (mean)", "Dice", "IoU", "HD95 mm",
             "ASSD mm", "NSD");
  for (size_t l = 0; l < s.labels.size(); ++l) {
    const EvaluatedLabel& label = s.labels[l];
    row(label.name == label.key ? label.key : label.key + " " + label.name, s.mean[l]);
  }
  row("foreground mean", s.foreground_mean);
  fmt::print("{} cases; summary: {}\n", s.cases.size(), s.summary_file.string());
  std::fflush(stdout);  // before the log (stderr) says more
}

}  // namespace

void add_evaluate_command(CLI::App& app, const GlobalOptions& global) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* cmd = app.add_subcommand(
      "evaluate", "Score predicted label maps against references: Dice, IoU, HD95, ASSD, NSD");
  cmd->add_option("-r,--reference", args->reference_dir, "Folder of reference label maps")
      ->required();
  cmd->add_option("-p,--prediction", args->prediction_dir, "Folder of predicted label maps")
      ->required();
  cmd->add_option("-d,--dataset-json", args->dataset_json,
                  "dataset.json: evaluate its labels or regions (and use its file ending)");
  cmd->add_option("-l,--labels", args->labels, "Label values to evaluate, e.g. 1,2")
      ->delimiter(',');
  cmd->add_option("-o,--output", args->output,
                  "Summary file (default <prediction>/summary.json; the CSV goes beside it)");
  cmd->add_option("--nsd-tolerance", args->nsd_tolerance, "NSD tolerance in mm (default 1)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--nsd-tolerance-per-label", args->nsd_tolerance_per_label,
                  "Per-label NSD tolerances LABEL:MM, by value or name, e.g. 1:2.0,2:1.5")
      ->delimiter(',');
  cmd->add_option("-j,--jobs", args->threads, "Cases evaluated in parallel (default: --threads)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option_function<int>(
      "--ignore-label", [args](const int& value) { args->ignore_label = value; },
      "Leave out voxels whose reference has this value (default: dataset.json's \"ignore\" "
      "label)");
  cmd->add_option("--file-ending", args->file_ending,
                  "File ending of the label maps (default .nii.gz, or dataset.json's)");
  cmd->callback([args, &global] {
    apply_global_options(global);
    print_table(evaluate_folders(to_options(*args, global)));
  });
}

}  // namespace medseg::app
