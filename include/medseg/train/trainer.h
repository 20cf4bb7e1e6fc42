// `medseg train`: trains one fold of one configuration from the preprocessed data of a work
// folder (the reference's nnUNetTrainer), writing the model folder (train/model_folder.h):
// checkpoints, the training log and progress plot each epoch, and at the end the final
// validation of the fold's validation cases.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "medseg/train/distributed_options.h"
#include "medseg/train/trainer_settings.h"

namespace medseg {

// Command-line values that replace the settings' (when given).
struct SettingOverrides {
  std::optional<int> num_epochs;
  std::optional<int> iterations_per_epoch;
  std::optional<int> val_iterations;
  std::optional<uint64_t> seed;
};

struct TrainOptions {
  std::filesystem::path work_dir;  // plans.json, dataset.json, preprocessed/, gt_segmentations/
  std::string configuration;       // "3d_fullres", "2d", ...
  int fold = 0;                    // 0..4, or kFoldAll
  std::string device = "cpu";      // "cpu", "cuda", "cuda:<i>"
  // nullopt: the checkpoint's settings when continuing, else the defaults.
  std::optional<TrainerSettings> settings;
  SettingOverrides overrides;
  bool continue_training = false;     // resume from checkpoint_latest (or _final)
  std::filesystem::path pretrained;   // initial weights (same architecture); empty: none
  std::filesystem::path dataset_dir;  // raw dataset for the final validation; empty: the one
                                      // <work_dir>/dataset_path.txt names
  std::filesystem::path output_dir;   // model folder; empty: <work_dir>/models/<configuration>
  // Cascade stages (3d_cascade_fullres): the previous stage's model folder, whose
  // predicted_next_stage/<configuration>/ and fold_<k>/validation/ the training and its final
  // validation read; empty: <work_dir>/models/<previous stage>.
  std::filesystem::path previous_stage_model;
  bool final_validation = true;
  bool save_probabilities = false;  // final validation: also write probabilities
  int threads = 0;                  // final validation's export and evaluation; <= 0: all
  // Data-parallel training (world_size > 1): this process is one rank; the plan's batch is the
  // global batch, split across the ranks. Only rank 0 writes the model folder (the final
  // validation's predictions are shared out); every rank ends with the same weights.
  DistributedOptions distributed;
  // Called after every training iteration with (epoch, iterations done in it); tests use it
  // to interrupt a run at a known point.
  std::function<void(int epoch, int iteration)> on_iteration;
};

struct TrainResult {
  std::filesystem::path fold_dir;
  int epochs_completed = 0;  // of the whole run (resumed ones included)
  double ema_pseudo_dice = 0;
  double best_ema_pseudo_dice = 0;
  std::optional<double> validation_dice;  // foreground mean Dice of the final validation
};

// Trains (or continues) the fold. Throws UsageError for bad options (a missing --dataset for the
// final validation, --continue without a checkpoint, ...), Error for bad inputs, and
// Error("... interrupted ...") after SIGINT / SIGTERM, once checkpoint_latest is saved. In a
// data-parallel run, Error("distributed training ...") on every rank when one fails.
TrainResult train_fold(const TrainOptions& options);

}  // namespace medseg
