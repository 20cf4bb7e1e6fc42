// `medseg train <work_dir> -c <configuration> -f <fold|all> [--device cpu|cuda[:i]]
//  [--epochs N] [--iterations-per-epoch N] [--val-iterations N] [--continue]
//  [--pretrained CHECKPOINT] [--seed S] [--save-probabilities] [--trainer-config FILE]
//  [--dataset DIR] [--no-final-validation]`
#include "commands.h"
#include "medseg/core/log.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/trainer.h"

namespace medseg::app {

void add_train_command(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string work_dir, configuration, fold, device = "cpu", pretrained, trainer_config, dataset;
    int epochs = 0, iterations = 0, val_iterations = 0;
    uint64_t seed = 0;
    bool continue_training = false, save_probabilities = false, no_final_validation = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("train",
                         "Train one fold of a configuration on the preprocessed data (writes "
                         "<work_dir>/models/<configuration>/fold_<k>/)");
  cmd->add_option("work_dir", args->work_dir,
                  "Work folder (plans.json, dataset.json, preprocessed/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-c,--configuration", args->configuration,
                  "Configuration to train, e.g. 3d_fullres")
      ->required();
  cmd->add_option("-f,--fold", args->fold,
                  "Fold 0-4 of splits_final.json, or 'all' (train on every case)")
      ->required();
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:<index>")->capture_default_str();
  auto* epochs = cmd->add_option("--epochs", args->epochs, "Epochs (default 1000)")
                     ->check(CLI::PositiveNumber);
  auto* iterations = cmd->add_option("--iterations-per-epoch", args->iterations,
                                     "Training iterations per epoch "
                                     "(default 250)")
                         ->check(CLI::PositiveNumber);
  auto* val_iterations = cmd->add_option("--val-iterations", args->val_iterations,
                                         "Validation iterations per epoch (default 50)")
                             ->check(CLI::PositiveNumber);
  auto* seed = cmd->add_option("--seed", args->seed,
                               "Seed of the network initialisation and every batch (default "
                               "12345)");
  cmd->add_flag("--continue", args->continue_training,
                "Resume from checkpoint_latest (or checkpoint_final)");
  cmd->add_option("--pretrained", args->pretrained,
                  "Start from these weights (a checkpoint of the same network)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--trainer-config", args->trainer_config,
                  "Trainer settings JSON (see configs/trainer_default.json); flags override it")
      ->check(CLI::ExistingFile);
  cmd->add_option(
         "--dataset", args->dataset,
         "Raw dataset folder for the final validation (default: <work_dir>/dataset_path.txt)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--save-probabilities", args->save_probabilities,
                "Final validation: also save probabilities");
  cmd->add_flag("--no-final-validation", args->no_final_validation,
                "Skip predicting and scoring the fold's validation cases at the end");
  cmd->callback([args, epochs, iterations, val_iterations, seed, &global] {
    apply_global_options(global);
    TrainOptions o;
    o.work_dir = args->work_dir;
    o.configuration = args->configuration;
    o.fold = parse_fold(args->fold);
    o.device = args->device;
    if (!args->trainer_config.empty()) o.settings = read_trainer_settings(args->trainer_config);
    if (*epochs) o.overrides.num_epochs = args->epochs;
    if (*iterations) o.overrides.iterations_per_epoch = args->iterations;
    if (*val_iterations) o.overrides.val_iterations = args->val_iterations;
    if (*seed) o.overrides.seed = args->seed;
    o.continue_training = args->continue_training;
    o.pretrained = args->pretrained;
    o.dataset_dir = args->dataset;
    o.final_validation = !args->no_final_validation;
    o.save_probabilities = args->save_probabilities;
    o.threads = global.threads;
    const TrainResult result = train_fold(o);
    log().info("done: {} epochs, pseudo-Dice EMA {:.4f} (best {:.4f}); model in {}",
               result.epochs_completed, result.ema_pseudo_dice, result.best_ema_pseudo_dice,
               result.fold_dir.string());
  });
}

}  // namespace medseg::app
