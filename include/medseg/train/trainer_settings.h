// Every number of a training run that is not in the plans: epochs, optimizer, schedule,
// checkpoint cadence, augmentation switches. Defaults are the reference's nnUNetTrainer; the
// JSON form (configs/trainer_default.json) lets a user change them without touching code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace medseg {

struct TrainerSettings {
  int num_epochs = 1000;
  int iterations_per_epoch = 250;
  int val_iterations = 50;   // validation batches per epoch (pseudo-Dice, val loss)
  double initial_lr = 1e-2;  // SGD, poly-decayed per epoch
  double lr_exponent = 0.9;  // lr = initial_lr * (1 - epoch / num_epochs)^exponent
  double momentum = 0.99;
  bool nesterov = true;
  double weight_decay = 3e-5;
  double grad_clip_norm = 12.0;         // global gradient norm limit; <= 0: no clipping
  int checkpoint_every = 50;            // checkpoint_latest every N epochs
  double pseudo_dice_ema = 0.9;         // weight of the old value in the pseudo-Dice EMA
  double oversample_foreground = 0.33;  // fraction of each batch centred on foreground
  bool deep_supervision = true;
  bool augmentation = true;       // false: no data augmentation at all
  bool mirroring = true;          // mirror augmentation and mirrored final validation
  double loss_weight_ce = 1.0;    // cross-entropy (BCE for regions) term
  double loss_weight_dice = 1.0;  // soft Dice term
  bool mixed_precision =
      true;  // CUDA: bf16 autocast + TF32; CPU: bf16 network if native (nn/precision.h)
  double validation_step_size = 0.5;  // sliding-window step of the final validation
  int loader_workers = 0;             // batch-making threads; <= 0: BatchStream's default
  uint64_t seed = 12345;              // network initialisation and every batch
};

nlohmann::json to_json(const TrainerSettings& settings);

// Reads settings from a JSON object: keys left out keep the defaults; an unknown key, a wrong
// type or a value out of range (no epochs, negative lr, ...) throws Error naming `where`.
TrainerSettings trainer_settings_from_json(const nlohmann::json& json, const std::string& where);
TrainerSettings read_trainer_settings(const std::filesystem::path& path);

// Throws Error("<where>", ...) naming the first value out of range.
void validate_trainer_settings(const TrainerSettings& settings, const std::string& where);

}  // namespace medseg
