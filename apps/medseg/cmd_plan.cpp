// `medseg plan`: fingerprint a dataset and plan its configurations (plans.json).
#include <iostream>

#include "commands.h"
#include "medseg/core/log.h"
#include "medseg/plan/plan_dataset.h"
#include "medseg/plan/planner_preset.h"
#include "medseg/plan/plans_summary.h"

namespace medseg::app {

void add_plan_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string dataset;
    std::string work;
    PlanDatasetOptions plan;
    double gpu_memory_gb = 0;
    std::vector<double> target_spacing;
    int jobs = 0;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "plan",
      "Validate a dataset, extract its fingerprint and plan the 2d / 3d_fullres / 3d_lowres "
      "configurations (dataset_fingerprint.json, plans.json, dataset.json)");
  cmd->add_option("dataset", opt->dataset, "Dataset folder (dataset.json, imagesTr, labelsTr)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--out", opt->work, "Work folder to write the plans into")->required();
  cmd->add_option("--preset", opt->plan.planner.preset,
                  "Planner preset (resenc-*: residual encoder U-Nets)")
      ->check(CLI::IsMember(planner_preset_names()))
      ->capture_default_str();
  cmd->add_option("--gpu-memory", opt->gpu_memory_gb,
                  "GPU memory target in GB (default: the preset's: 8, resenc-l 24, resenc-xl 40)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--overwrite-target-spacing", opt->target_spacing,
                  "Use this 3d_fullres spacing z y x (mm) instead of the planned one")
      ->expected(3)
      ->check(CLI::PositiveNumber);
  cmd->add_option("-j,--jobs", opt->jobs, "Cases read in parallel (default: --threads)")
      ->check(CLI::PositiveNumber);
  cmd->callback([opt, &global] {
    apply_global_options(global);
    opt->plan.fingerprint.threads = opt->jobs > 0 ? opt->jobs : global.threads;
    if (opt->gpu_memory_gb > 0) opt->plan.planner.gpu_memory_gb = opt->gpu_memory_gb;
    if (!opt->target_spacing.empty())
      opt->plan.planner.overwrite_target_spacing = opt->target_spacing;
    const PlanDatasetResult result = plan_dataset(opt->dataset, opt->work, opt->plan);
    std::cout << describe_plans(result.plans) << std::flush;
    log().info("wrote {}, {} and {}", result.plans_file.string(), result.fingerprint_file.string(),
               result.dataset_json_file.string());
  });
}

}  // namespace medseg::app
