// `medseg postprocess determine -m <model_folder> [-f folds] [--reference <dir>]`: decides the
// keep-largest-component postprocessing on the cross-validation predictions and writes
// <model_folder>/postprocessing.json, which `medseg predict` then applies.
// `medseg postprocess apply -i <folder> -o <folder> -p <postprocessing.json|.pkl>
// [--dataset-json F]`: applies such a file (or the reference nnU-Net's postprocessing.pkl) to
// every label map of a folder (after `medseg ensemble`, or find-best's instructions).
#include <string>
#include <vector>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/infer/postprocess_folder.h"
#include "medseg/infer/postprocessing_search.h"

namespace medseg::app {

namespace {

struct DetermineArgs {
  std::string model, reference;
  std::vector<int> folds;
};

void run_determine(const DetermineArgs& a, const GlobalOptions& global) {
  PostprocessingOptions o;
  o.model_dir = a.model;
  o.folds = a.folds;
  o.reference_dir = a.reference;
  o.threads = global.threads;
  const PostprocessingPlan plan = determine_postprocessing(o);
  std::string steps;
  for (const auto& step : plan.steps)
    steps += (steps.empty() ? "" : "; ") + nlohmann::json(step.labels).dump();
  log().info("postprocessing: {} -> {}",
             steps.empty() ? "nothing helps" : "keep the largest component of " + steps,
             (o.model_dir / "postprocessing.json").string());
}

struct ApplyArgs {
  std::string input, output, postprocessing, dataset_json;
};

void run_apply(const ApplyArgs& a, const GlobalOptions& global) {
  PostprocessFolderOptions o;
  o.input_dir = a.input;
  o.output_dir = a.output;
  o.postprocessing_file = a.postprocessing;
  o.dataset_json = a.dataset_json;
  o.threads = global.threads;
  postprocess_folder(o);
}

void add_apply_subcommand(CLI::App& cmd, const GlobalOptions& global) {
  auto a = std::make_shared<ApplyArgs>();
  auto* apply = cmd.add_subcommand(
      "apply", "Apply a postprocessing.json to every label map of a folder (input geometry kept)");
  apply->add_option("-i,--input", a->input, "Folder of label maps <case><file_ending>")->required();
  apply->add_option("-o,--output", a->output, "Output folder (may be the input folder)")
      ->required();
  apply
      ->add_option("-p,--postprocessing", a->postprocessing,
                   "The postprocessing.json to apply, or an nnU-Net v2 postprocessing.pkl")
      ->required();
  apply->add_option("--dataset-json", a->dataset_json,
                    "dataset.json (default: beside the postprocessing file, else in the input "
                    "folder)");
  apply->callback([a, &global] {
    apply_global_options(global);
    run_apply(*a, global);
  });
}

}  // namespace

void add_postprocess_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "postprocess", "Choose the postprocessing from cross-validation results, or apply it");
  cmd->require_subcommand(1);
  auto a = std::make_shared<DetermineArgs>();
  auto* determine = cmd->add_subcommand(
      "determine",
      "Keep-largest-component steps that improve the cross-validation Dice -> postprocessing.json");
  determine->add_option("-m,--model", a->model, "Model folder <work>/models/<configuration>")
      ->required();
  determine->add_option("-f,--folds", a->folds,
                        "Folds whose validation/ predictions to use (default: all)");
  determine->add_option("--reference", a->reference,
                        "Reference label folder (default <model>/../../gt_segmentations)");
  determine->callback([a, &global] {
    apply_global_options(global);
    run_determine(*a, global);
  });
  add_apply_subcommand(*cmd, global);
}

}  // namespace medseg::app
