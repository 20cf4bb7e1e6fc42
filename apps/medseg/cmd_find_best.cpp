// `medseg find-best -w <work> [-c conf ...] [-f 0 1 2 3 4] [--no-ensembles]`: scores the
// cross-validation of every trained configuration and every pair as an ensemble, picks the best,
// decides its postprocessing and writes <work>/find_best/inference_instructions.json.
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "medseg/train/find_best.h"

namespace medseg::app {

namespace {

struct FindBestArgs {
  std::string work;
  std::vector<std::string> configurations;
  std::vector<int> folds;
  bool no_ensembles = false;
};

void run_find_best(const FindBestArgs& a, const GlobalOptions& global) {
  FindBestOptions o;
  o.work_dir = a.work;
  o.configurations = a.configurations;
  o.folds = a.folds;
  o.ensembles = !a.no_ensembles;
  o.threads = global.threads;
  const FindBestResult r = find_best_configuration(o);
  std::fputs(r.report.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

void add_find_best_command(CLI::App& app, const GlobalOptions& global) {
  auto a = std::make_shared<FindBestArgs>();
  auto* cmd = app.add_subcommand(
      "find-best",
      "Choose the best configuration or ensemble from the cross-validation, with its "
      "postprocessing and the commands to segment new images");
  cmd->add_option("-w,--work", a->work,
                  "Work folder (models/, splits_final.json, gt_segmentations/)")
      ->required();
  cmd->add_option("-c,--configurations", a->configurations,
                  "Configurations to consider (default: every model folder in <work>/models; "
                  "named ones must have every fold's validation)");
  cmd->add_option("-f,--folds", a->folds, "Folds of splits_final.json (default: all of them)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-ensembles", a->no_ensembles, "Do not consider ensembles of configurations");
  cmd->callback([a, &global] {
    apply_global_options(global);
    run_find_best(*a, global);
  });
}

}  // namespace medseg::app
