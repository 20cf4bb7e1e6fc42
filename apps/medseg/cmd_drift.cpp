// `medseg drift -m <model folder> -i <folder> [<folder> ...] -o <report folder>
//  [--alpha 0.01] [--min-ks 0.3] [--ood-tolerance 3.2]`: each folder of scans (a batch, in the
// order given) against the model's training profile; drift.json and drift.svg.
#include <filesystem>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/infer/predict_folder.h"
#include "medseg/io/dataset.h"
#include "medseg/qa/drift.h"

namespace medseg::app {

namespace {

namespace fs = std::filesystem;

struct DriftArgs {
  std::string model, output;
  std::vector<std::string> inputs;
  DriftOptions options;
};

void run_drift(const DriftArgs& a, const GlobalOptions& global) {
  const fs::path model(a.model);
  const DatasetInfo dataset = read_dataset_json(model / "dataset.json");
  const std::optional<TrainingProfile> profile = load_model_profile(model);
  if (!profile)
    throw Error(model.string(), std::string("has no ") + kTrainingProfileFile +
                                    " (a model trained by an older medseg, or by the reference "
                                    "nnU-Net): nothing to compare the scans with");
  std::vector<DriftBatch> batches;
  for (const std::string& input : a.inputs) {
    const std::vector<CaseFiles> cases = prediction_cases(input, dataset);
    DriftBatch batch;
    batch.name = input;
    batch.cases.resize(cases.size());
    parallel_for(cases.size(), global.threads, [&](size_t i) {
      batch.cases[i] = case_features_of_files(cases[i].id, cases[i].images, {}, dataset);
    });
    log().info("{}: {} case(s)", input, cases.size());
    batches.push_back(std::move(batch));
  }
  const DriftReport report = compare_batches(*profile, batches, dataset, a.options);
  write_drift_report(report, a.output);
  for (const std::string& line : drift_summary_lines(report)) log().info("{}", line);
  log().info("drift report: {} and {}", (fs::path(a.output) / "drift.json").string(),
             (fs::path(a.output) / "drift.svg").string());
}

}  // namespace

void add_drift_command(CLI::App& app, const GlobalOptions& global) {
  auto a = std::make_shared<DriftArgs>();
  auto* cmd = app.add_subcommand(
      "drift",
      "Compare batches of new scans with what a model was trained on (Kolmogorov-Smirnov per "
      "feature): drift.json and drift.svg");
  cmd->add_option("-m,--model", a->model, "Model folder (with training_profile.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-i,--input", a->inputs,
                  "Folders of scans (<case>_XXXX<file ending>), one batch each, in order")
      ->required();
  cmd->add_option("-o,--output", a->output, "Report folder (drift.json, drift.svg)")->required();
  cmd->add_option("--alpha", a->options.alpha,
                  "Family-wise significance over the features (default 0.01)")
      ->check(CLI::Range(1e-9, 0.5));
  cmd->add_option("--min-ks", a->options.min_statistic,
                  "Least Kolmogorov-Smirnov distance that counts as drift (default 0.3)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--ood-tolerance", a->options.ood.tolerance,
                  "The per-case out-of-distribution tolerance (default 3.2; see predict --help)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([a, &global] {
    apply_global_options(global);
    run_drift(*a, global);
  });
}

}  // namespace medseg::app
