// Where a training run stands, as its checkpoints record it: epochs (and iterations of an
// interrupted epoch) done, the batch indices to continue from, the pseudo-Dice moving average
// and its best value, and the per-epoch history. With the network and optimizer state this is
// everything `--continue` needs to carry on exactly where the run stopped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "medseg/io/plans.h"
#include "medseg/train/trainer_settings.h"
#include "medseg/train/training_log.h"

namespace medseg {

inline constexpr const char* kCheckpointFormat = "medseg-training-checkpoint";
inline constexpr int kCheckpointFormatVersion = 1;

struct TrainingState {
  int epoch = 0;      // epochs completed
  int iteration = 0;  // training iterations already done in epoch `epoch` (after an interrupt)
  int64_t next_train_batch = 0;  // index of the next training batch of the (seeded) sequence
  int64_t next_val_batch = 0;
  // The interrupted epoch's running sums (zero at epoch boundaries).
  double partial_loss_sum = 0, partial_train_seconds = 0, partial_wait_seconds = 0;
  double ema_pseudo_dice = std::numeric_limits<double>::quiet_NaN();  // NaN before epoch 1
  double best_ema = std::numeric_limits<double>::quiet_NaN();
  std::vector<EpochRecord> history;
};

// What a checkpoint identifies besides the state.
struct RunIdentity {
  std::string configuration;
  int fold = 0;  // kFoldAll for -f all
  uint64_t seed = 0;
};

// The checkpoint metadata: "format", "version", "configuration", "fold", "epoch", "iteration",
// "ema_pseudo_dice", "best_ema", "seed", "rng" (the batch streams' seeds and next indices),
// "partial_epoch", "history", "trainer_settings" and "plans".
nlohmann::json checkpoint_meta(const TrainingState& state, const RunIdentity& run,
                               const TrainerSettings& settings, const Plans& plans);

struct CheckpointRecord {
  TrainingState state;
  RunIdentity run;
  TrainerSettings settings;
};

// Reads checkpoint_meta's form back; Error naming `where` for a document of another kind.
CheckpointRecord checkpoint_record_from_meta(const nlohmann::json& meta, const std::string& where);

// The seeds of the two batch sequences, derived from the run's seed (the network's
// initialisation is seeded with the run's seed itself).
uint64_t train_batch_seed(uint64_t seed);
uint64_t val_batch_seed(uint64_t seed);

}  // namespace medseg
