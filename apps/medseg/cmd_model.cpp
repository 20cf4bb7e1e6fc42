// `medseg export-model -m <model_folder> -o <model.zip> [-f 0 1 .. | all]
//  [--checkpoints final,best] [--format medseg|nnunet]` and `medseg install-model <model.zip>
// -o <dir> [--overwrite]`: a trained model as one zip to share, and back into
// <dir>/<configuration>/ for predict -m; or (--format nnunet) as an nnU-Net v2 results folder
// <dir>/<Trainer>__<Plans>__<configuration>/ for nnUNetv2_predict.
#include <string>
#include <vector>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/infer/model_archive.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/nnunet_export.h"

namespace medseg::app {

namespace {

struct ExportModelArgs {
  std::string model, output;
  std::vector<std::string> folds;
  std::vector<std::string> checkpoints = {"final"};
  std::string format = "medseg";
};

struct InstallModelArgs {
  std::string archive, output;
  bool overwrite = false;
};

std::string fold_list(const std::vector<int>& folds) {
  std::string text;
  for (int fold : folds) text += (text.empty() ? "" : ", ") + fold_folder_name(fold);
  return text;
}

void run_export_nnunet(const ExportModelArgs& a) {
  NnunetExportOptions o;
  o.model_dir = a.model;
  o.output_dir = a.output;
  o.folds = parse_folds(a.folds);
  o.checkpoints = a.checkpoints;
  const NnunetExportResult r = export_nnunet_model(o);
  for (const std::string& note : r.notes) log().info("{}", note);
  log().info("{} ({}): {} files -> {}", r.configuration, fold_list(r.folds), r.files.size(),
             r.results_dir.string());
}

void run_export_model(const ExportModelArgs& a) {
  if (a.format == "nnunet") return run_export_nnunet(a);
  ModelExportOptions o;
  o.model_dir = a.model;
  o.output = a.output;
  o.folds = parse_folds(a.folds);
  o.checkpoints = a.checkpoints;
  const ModelExportResult r = export_model(o);
  log().info("{} ({}): {} files, {:.1f} MB -> {} ({:.1f} MB)", r.configuration, fold_list(r.folds),
             r.entries.size(), r.bytes / 1e6, a.output, r.archive_bytes / 1e6);
}

void run_install_model(const InstallModelArgs& a) {
  ModelInstallOptions o;
  o.archive = a.archive;
  o.output_dir = a.output;
  o.overwrite = a.overwrite;
  const ModelInstallResult r = install_model(o);
  log().info("installed {} ({}): {} files -> {}{}", r.configuration, fold_list(r.folds), r.files,
             r.model_dir.string(), r.replaced ? " (replaced the existing model folder)" : "");
}

}  // namespace

void add_model_archive_commands(CLI::App& app, const GlobalOptions& global) {
  auto e = std::make_shared<ExportModelArgs>();
  auto* export_cmd = app.add_subcommand(
      "export-model",
      "Write a trained model folder into one zip to share (checkpoints, logs, validation "
      "summary), or as an nnU-Net v2 results folder (--format nnunet)");
  export_cmd->add_option("-m,--model", e->model, "Model folder <work>/models/<configuration>")
      ->required();
  export_cmd
      ->add_option("-o,--output", e->output,
                   "The zip file to write; with --format nnunet the folder (nnUNet_results/"
                   "<Dataset>) that receives <Trainer>__<Plans>__<configuration>/")
      ->required();
  export_cmd
      ->add_option("--format", e->format,
                   "medseg: a model zip for install-model (default); nnunet: an nnU-Net v2 "
                   "results folder that nnUNetv2_predict loads")
      ->check(CLI::IsMember({"medseg", "nnunet"}));
  export_cmd->add_option(
      "-f,--folds", e->folds,
      "Folds to include, e.g. -f 0 1, or 'all' for fold_all (default: every fold)");
  export_cmd
      ->add_option("--checkpoints", e->checkpoints,
                   "Checkpoints per fold, comma-separated: final, best, latest (default final)")
      ->delimiter(',')
      ->check(CLI::IsMember({"final", "best", "latest"}));
  export_cmd->callback([e, &global] {
    apply_global_options(global);
    run_export_model(*e);
  });

  auto i = std::make_shared<InstallModelArgs>();
  auto* install_cmd = app.add_subcommand(
      "install-model", "Install a model zip written by export-model into <dir>/<configuration>/");
  install_cmd->add_option("archive", i->archive, "The model zip")->required();
  install_cmd
      ->add_option("-o,--output", i->output,
                   "Folder to install into (the model lands in "
                   "<dir>/<configuration>/)")
      ->required();
  install_cmd->add_flag("--overwrite", i->overwrite, "Replace an existing non-empty model folder");
  install_cmd->callback([i, &global] {
    apply_global_options(global);
    run_install_model(*i);
  });
}

}  // namespace medseg::app
