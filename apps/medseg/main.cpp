// medseg: self-configuring medical image segmentation, one native binary.
#include <filesystem>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/runtime.h"
#include "medseg/nn/device.h"

namespace medseg::app {

// Nothing: every fold_<k> of the model folder (or fold_all when it has only that); "all": the
// fold_all model, as in the reference; otherwise fold numbers.
std::vector<int> parse_folds(const std::vector<std::string>& items) {
  if (items.empty()) return {};
  if (items.size() == 1 && items[0] == "all") return {kFoldAll};
  std::vector<int> folds;
  for (const std::string& item : items) {
    size_t used = 0;
    int fold = -1;
    try {
      fold = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || fold < 0)
      throw UsageError("-f/--folds", "'" + item + "' is not a fold number (or 'all')");
    folds.push_back(fold);
  }
  return folds;
}

void apply_global_options(const GlobalOptions& global) {
  install_console_logger(global.quiet     ? Verbosity::kQuiet
                         : global.verbose ? Verbosity::kVerbose
                                          : Verbosity::kNormal);
  configure_runtime(global.threads);
}

}  // namespace medseg::app

int main(int argc, char** argv) {
  using namespace medseg;
  CLI::App app{"medseg: self-configuring medical image segmentation (nnU-Net's pipeline, natively)",
               "medseg"};
  app.set_version_flag(
      "--version", std::string("medseg ") + MEDSEG_VERSION + " (" + torch_build_summary() + ")");
  app.require_subcommand(1);
  app.fallthrough();
  app::GlobalOptions global;
  global.argv.assign(argv, argv + argc);
  app.add_flag("-v,--verbose", global.verbose, "Log debug details");
  app.add_flag("--quiet", global.quiet, "Log warnings and errors only");
  app.add_option("--threads", global.threads,
                 "Threads for torch, ITK and case-parallel work (default: all cores)")
      ->check(CLI::NonNegativeNumber);

  app::add_synth_command(app, global);
  app::add_validate_command(app, global);
  app::add_convert_msd_command(app, global);
  app::add_convert_dicom_command(app, global);
  app::add_plan_command(app, global);
  app::add_preprocess_command(app, global);
  app::add_evaluate_command(app, global);
  app::add_predict_command(app, global);
  app::add_drift_command(app, global);
  app::add_postprocess_command(app, global);
  app::add_train_command(app, global);
  app::add_ensemble_command(app, global);
  app::add_find_best_command(app, global);
  app::add_model_archive_commands(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const app::ExitStatus& e) {
    return e.status;
  } catch (const UsageError& e) {
    log().error("{}", e.what());
    return 2;
  } catch (const Error& e) {
    log().error("{}", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    log().error("{}", describe_filesystem_error(e));
    return 1;
  } catch (const std::exception& e) {
    log().error("unexpected error: {}", e.what());
    return 1;
  }
  return 0;
}
