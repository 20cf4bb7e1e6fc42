// The subcommands of the `medseg` executable. Each add_*_command registers one CLI11
// subcommand whose callback turns its options into one library call.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace medseg::app {

struct GlobalOptions {
  int threads = 0;  // <= 0: all cores
  bool verbose = false;
  bool quiet = false;
  std::vector<std::string> argv;  // the command line as given (train --nproc restarts it per rank)
};

// Thrown by a command that has reported its failure itself: main ends with this status.
struct ExitStatus {
  int status = 1;
};

// Logger level, allocator and thread counts from the global options; every command's
// callback calls it first.
void apply_global_options(const GlobalOptions& global);

// -f/--folds values: nothing -> {} (every fold_<k> of the model folder, or fold_all when it has
// only that); "all" -> {kFoldAll}; otherwise fold numbers (UsageError for anything else).
std::vector<int> parse_folds(const std::vector<std::string>& items);

void add_synth_command(CLI::App& app, const GlobalOptions& global);
void add_validate_command(CLI::App& app, const GlobalOptions& global);
void add_convert_msd_command(CLI::App& app, const GlobalOptions& global);
void add_convert_dicom_command(CLI::App& app, const GlobalOptions& global);
void add_plan_command(CLI::App& app, const GlobalOptions& global);
void add_preprocess_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_command(CLI::App& app, const GlobalOptions& global);
void add_predict_command(CLI::App& app, const GlobalOptions& global);
void add_drift_command(CLI::App& app, const GlobalOptions& global);
void add_postprocess_command(CLI::App& app, const GlobalOptions& global);
void add_train_command(CLI::App& app, const GlobalOptions& global);
void add_ensemble_command(CLI::App& app, const GlobalOptions& global);
void add_find_best_command(CLI::App& app, const GlobalOptions& global);
// export-model and install-model.
void add_model_archive_commands(CLI::App& app, const GlobalOptions& global);

}  // namespace medseg::app
