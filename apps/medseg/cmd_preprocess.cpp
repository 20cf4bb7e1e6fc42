// `medseg preprocess <work_dir> -c <configuration>... [-j N] [--overwrite] [--dataset DIR]`
#include "commands.h"
#include "medseg/core/log.h"
#include "medseg/core/progress.h"
#include "medseg/preprocess/dataset_preprocessor.h"

namespace medseg::app {

void add_preprocess_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<PreprocessOptions>();
  auto work_dir = std::make_shared<std::string>();
  auto dataset_dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "preprocess",
      "Crop, normalize and resample every training case for the planned configurations");
  cmd->add_option("work_dir", *work_dir,
                  "Work folder written by medseg plan (plans.json, dataset.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option(
      "-c,--configurations", opt->configurations,
      "Configurations to preprocess, e.g. -c 3d_fullres 2d (default: every planned one)");
  cmd->add_option("-j,--workers", opt->workers, "Cases preprocessed at once (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dataset", *dataset_dir,
                  "Raw dataset folder (default: the one medseg plan recorded in "
                  "<work_dir>/dataset_path.txt)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--overwrite", opt->overwrite, "Redo cases that are already preprocessed");
  cmd->callback([opt, work_dir, dataset_dir, &global] {
    apply_global_options(global);
    opt->work_dir = *work_dir;
    opt->dataset_dir = *dataset_dir;
    opt->threads = global.threads;
    const PreprocessReport report = preprocess_dataset(*opt);
    for (const auto& c : report.configurations)
      log().info("{}: {} cases preprocessed in {}, {} already done; data in {}", c.name,
                 c.processed, format_duration(c.seconds), c.skipped, c.output_dir.string());
  });
}

}  // namespace medseg::app
