// `medseg train <work_dir> -c <configuration> -f <fold|all> [--device cpu|cuda[:i]]
//  [--epochs N] [--iterations-per-epoch N] [--val-iterations N] [--continue]
//  [--pretrained CHECKPOINT] [--previous-stage MODEL_DIR] [--seed S] [--save-probabilities]
//  [--trainer-config FILE]
//  [--dataset DIR] [--no-final-validation] [--nproc N | --world-size W --rank R
//  --master-addr HOST --master-port P] [--dist-timeout S]`
#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/local_launcher.h"
#include "medseg/train/trainer.h"

namespace medseg::app {

namespace {

// The data-parallel settings: the torchrun variables, overridden by the flags given.
DistributedOptions distributed_settings(const CLI::App& cmd, const DistributedOptions& flags) {
  DistributedOptions o = distributed_options_from_environment();
  if (cmd.count("--world-size")) o.world_size = flags.world_size;
  if (cmd.count("--rank")) o.rank = flags.rank;
  if (cmd.count("--local-rank")) o.local_rank = flags.local_rank;
  if (cmd.count("--master-addr")) o.master_addr = flags.master_addr;
  if (cmd.count("--master-port")) o.master_port = flags.master_port;
  o.timeout_seconds = flags.timeout_seconds;
  if (!std::getenv("LOCAL_WORLD_SIZE"))
    o.local_world_size = std::max(o.local_world_size, o.local_rank + 1);
  validate_distributed_options(o);
  return o;
}

// --nproc N: this process becomes the launcher of N ranks, each a copy of this command line.
int launch_ranks(const GlobalOptions& global, const CLI::App& cmd, int nproc,
                 const DistributedOptions& flags) {
  for (const char* option : {"--world-size", "--rank", "--local-rank"})
    if (cmd.count(option))
      throw UsageError(
          "--nproc", std::string("starts the ranks itself; it cannot be combined with ") + option);
  if (const char* rank = std::getenv("RANK"); rank != nullptr && *rank != '\0')
    throw UsageError("--nproc",
                     "starts the ranks itself, but RANK is set: a launcher started this process");
  LaunchOptions launch;
  launch.nproc = nproc;
  launch.argv = remove_option(global.argv, "nproc");
  if (cmd.count("--master-addr")) launch.master_addr = flags.master_addr;
  if (cmd.count("--master-port")) launch.master_port = flags.master_port;
  return launch_local_ranks(launch);
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string work_dir, configuration, fold, device = "cpu", pretrained, trainer_config, dataset,
                                               previous_stage;
    int epochs = 0, iterations = 0, val_iterations = 0;
    uint64_t seed = 0;
    bool continue_training = false, save_probabilities = false, no_final_validation = false;
    int nproc = 1;
    DistributedOptions distributed;
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
                  "Start from these weights (a checkpoint of the same network; segmentation "
                  "heads of another label count are skipped)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--previous-stage", args->previous_stage,
                  "Cascade (3d_cascade_fullres): the previous stage's model folder (default: "
                  "<work_dir>/models/3d_lowres)")
      ->check(CLI::ExistingDirectory);
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
  cmd->add_option("--nproc", args->nproc,
                  "Data-parallel training with N processes on this machine (started by medseg; "
                  "the plan's batch is split between them)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--world-size", args->distributed.world_size,
                  "Data parallel across machines: the number of ranks (default: $WORLD_SIZE or 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rank", args->distributed.rank, "This process's rank (default: $RANK)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--local-rank", args->distributed.local_rank,
                  "Its rank on this machine, picks cuda:<local rank> (default: $LOCAL_RANK)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--master-addr", args->distributed.master_addr,
                  "Host of rank 0's rendezvous store (default: $MASTER_ADDR or 127.0.0.1)");
  cmd->add_option("--master-port", args->distributed.master_port,
                  "Its port (default: $MASTER_PORT or 29500; with --nproc a free port)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--dist-timeout", args->distributed.timeout_seconds,
                  "Seconds a rank waits for the others (rendezvous and each exchange)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([args, cmd, epochs, iterations, val_iterations, seed, &global] {
    if (args->nproc > 1) {
      apply_global_options(global);
      const int status = launch_ranks(global, *cmd, args->nproc, args->distributed);
      if (status != 0) throw ExitStatus{status};
      log().info("all {} ranks finished", args->nproc);
      return;
    }
    const DistributedOptions distributed = distributed_settings(*cmd, args->distributed);
    GlobalOptions rank_global = global;
    if (distributed.enabled() && rank_global.threads <= 0) {  // the machine's ranks share its cores
      rank_global.threads = std::max(1, default_thread_count() / distributed.local_world_size);
    }
    apply_global_options(rank_global);
    if (distributed.enabled()) {
      set_log_prefix("[rank " + std::to_string(distributed.rank) + "] ");
      if (distributed.rank != 0 && !global.verbose) log().set_level(spdlog::level::warn);
    }
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
    o.previous_stage_model = args->previous_stage;
    o.dataset_dir = args->dataset;
    o.final_validation = !args->no_final_validation;
    o.save_probabilities = args->save_probabilities;
    o.threads = rank_global.threads;
    o.distributed = distributed;
    const TrainResult result = train_fold(o);
    if (distributed.enabled() && distributed.rank != 0) return;
    log().info("done: {} epochs, pseudo-Dice EMA {:.4f} (best {:.4f}); model in {}",
               result.epochs_completed, result.ema_pseudo_dice, result.best_ema_pseudo_dice,
               result.fold_dir.string());
  });
}

}  // namespace medseg::app
