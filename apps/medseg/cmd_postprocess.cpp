// `medseg postprocess determine -m <model_folder> [-f folds] [--reference <dir>]`: decides the
// keep-largest-component postprocessing on the cross-validation predictions and writes
// <model_folder>/postprocessing.json, which `medseg predict` then applies.
#include <string>
#include <vector>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
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

}  // namespace

void add_postprocess_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd =
      app.add_subcommand("postprocess", "Choose the postprocessing from cross-validation results");
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
}

}  // namespace medseg::app
