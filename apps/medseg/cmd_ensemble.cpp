// `medseg ensemble -i <folder> <folder> [...] -o <folder> [--save-probabilities]
//  [--dataset-json <file>]`: the mean of the probabilities that several predictions of the same
// cases saved (predict --save-probabilities), as label maps with the inputs' geometry.
#include <string>
#include <vector>

#include "commands.h"
#include "medseg/core/log.h"
#include "medseg/infer/ensemble.h"

namespace medseg::app {

namespace {

struct EnsembleArgs {
  std::vector<std::string> inputs;
  std::string output, dataset_json;
  bool save_probabilities = false;
};

void run_ensemble(const EnsembleArgs& a, const GlobalOptions& global) {
  EnsembleOptions o;
  o.input_dirs.assign(a.inputs.begin(), a.inputs.end());
  o.output_dir = a.output;
  o.dataset_json = a.dataset_json;
  o.save_probabilities = a.save_probabilities;
  o.threads = global.threads;
  const EnsembleResult r = ensemble_folders(o);
  log().info("{} case(s) ensembled from {} folders into {}", r.cases.size(), o.input_dirs.size(),
             a.output);
}

}  // namespace

void add_ensemble_command(CLI::App& app, const GlobalOptions& global) {
  auto a = std::make_shared<EnsembleArgs>();
  auto* cmd = app.add_subcommand(
      "ensemble", "Average the saved probabilities of several predictions of the same cases");
  cmd->add_option("-i,--input", a->inputs,
                  "Prediction folders with <case>.npy + <case>_probabilities.json (at least two)")
      ->required()
      ->expected(2, -1);
  cmd->add_option("-o,--output", a->output, "Output folder (<case><file_ending> per case)")
      ->required();
  cmd->add_option("--dataset-json", a->dataset_json,
                  "dataset.json of the models (default: one in an input folder, else the labels "
                  "the probabilities describe; needed for regions)");
  cmd->add_flag("--save-probabilities", a->save_probabilities,
                "Also write the averaged <case>.npy and <case>_probabilities.json");
  cmd->callback([a, &global] {
    apply_global_options(global);
    run_ensemble(*a, global);
  });
}

}  // namespace medseg::app
