// Dataset tools: synth, validate, convert-msd.
#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/io/dataset_validation.h"
#include "medseg/io/msd_conversion.h"
#include "medseg/io/synthetic_dataset.h"

namespace medseg::app {

void add_synth_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string out;
    SynthOptions synth;
    std::vector<int64_t> shape;
    std::vector<double> spacing;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("synth", "Write a small deterministic synthetic dataset (MSD / nnU-Net v2 layout)");
  cmd->add_option("out", opt->out, "Output dataset folder")->required();
  cmd->add_option("--cases", opt->synth.num_training, "Training cases")->check(CLI::PositiveNumber);
  cmd->add_option("--test-cases", opt->synth.num_test, "Test cases (imagesTs + labelsTs)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->synth.seed, "Random seed");
  cmd->add_option("--shape", opt->shape, "Mean case shape z y x (default 32 48 48)")->expected(3);
  cmd->add_option("--spacing", opt->spacing, "Voxel spacing z y x in mm (default 2 1 1)")->expected(3);
  cmd->add_option("--noise", opt->synth.noise_std, "Noise standard deviation");
  cmd->callback([opt, &global] {
    apply_global_options(global);
    if (!opt->shape.empty()) std::copy(opt->shape.begin(), opt->shape.end(), opt->synth.shape.begin());
    if (!opt->spacing.empty()) std::copy(opt->spacing.begin(), opt->spacing.end(), opt->synth.spacing.begin());
    write_synthetic_dataset(opt->out, opt->synth);
    log().info("wrote {} training and {} test cases to {}", opt->synth.num_training, opt->synth.num_test, opt->out);
  });
}

void add_validate_command(CLI::App& app, const GlobalOptions& global) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("validate", "Check a dataset folder and report every problem found");
  cmd->add_option("dataset", *dir, "Dataset folder (dataset.json, imagesTr, labelsTr)")->required();
  cmd->callback([dir, &global] {
    apply_global_options(global);
    const ValidationReport report = validate_dataset(*dir, global.threads);
    if (report.ok()) {
      log().info("{}: {} cases, no problems found", *dir, report.cases_checked);
      return;
    }
    for (const auto& problem : report.problems) log().error("{}", problem);
    throw Error(*dir, std::to_string(report.problems.size()) + " problem(s) found in " +
                          std::to_string(report.cases_checked) + " cases");
  });
}

void add_convert_msd_command(CLI::App& app, const GlobalOptions& global) {
  auto task = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("convert-msd", "Convert an original Medical Segmentation Decathlon task folder");
  cmd->add_option("task", *task, "MSD task folder (TaskXX_Name)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("out", *out, "Output dataset folder")->required();
  cmd->callback([task, out, &global] {
    apply_global_options(global);
    const MsdConversionResult result = convert_msd(*task, *out, global.threads);
    log().info("converted {} training and {} test cases with {} channel(s) into {}", result.training_cases,
               result.test_cases, result.channels, *out);
  });
}

}  // namespace medseg::app
