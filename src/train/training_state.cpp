#include "medseg/train/training_state.h"

#include <cmath>

#include "medseg/core/error.h"
#include "medseg/core/json_reader.h"
#include "medseg/data/random.h"
#include "medseg/train/kfold_split.h"

namespace medseg {

namespace {

double number_or_nan(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

uint64_t train_batch_seed(uint64_t seed) {
  return splitmix64(seed * 2 + 1);
}
uint64_t val_batch_seed(uint64_t seed) {
  return splitmix64(seed * 2 + 2);
}

nlohmann::json checkpoint_meta(const TrainingState& s, const RunIdentity& run,
                               const TrainerSettings& settings, const Plans& plans) {
  return {{"format", kCheckpointFormat},
          {"version", kCheckpointFormatVersion},
          {"configuration", run.configuration},
          {"fold", run.fold == kFoldAll ? nlohmann::json("all") : nlohmann::json(run.fold)},
          {"epoch", s.epoch},
          {"iteration", s.iteration},
          {"ema_pseudo_dice", json_number(s.ema_pseudo_dice)},
          {"best_ema", json_number(s.best_ema)},
          {"seed", run.seed},
          {"rng",
           {{"torch_seed", run.seed},
            {"train_batch_seed", train_batch_seed(run.seed)},
            {"val_batch_seed", val_batch_seed(run.seed)},
            {"next_train_batch", s.next_train_batch},
            {"next_val_batch", s.next_val_batch}}},
          {"partial_epoch",
           {{"loss_sum", s.partial_loss_sum},
            {"train_seconds", s.partial_train_seconds},
            {"loader_wait_seconds", s.partial_wait_seconds}}},
          {"history", history_to_json(s.history)},
          {"trainer_settings", to_json(settings)},
          {"plans", to_json(plans)}};
}

CheckpointRecord checkpoint_record_from_meta(const nlohmann::json& meta, const std::string& where) {
  // Compared as JSON: a "format" that is no string is another kind of document, not a crash.
  if (!meta.is_object() || !meta.contains("format") || meta.at("format") != kCheckpointFormat)
    throw Error(where, "is not a medseg training checkpoint (no \"format\": \"" +
                           std::string(kCheckpointFormat) + "\")");
  JsonReader r(meta, where);
  if (r.get<int>("version") != kCheckpointFormatVersion)
    throw Error(where, "checkpoint format version " + meta["version"].dump() +
                           " is not supported (expected " +
                           std::to_string(kCheckpointFormatVersion) + ")");
  CheckpointRecord c;
  c.run.configuration = r.get<std::string>("configuration");
  const nlohmann::json& fold = r.at("fold");
  c.run.fold = fold.is_string() ? parse_fold(fold.get<std::string>()) : r.get<int>("fold");
  c.run.seed = r.get<uint64_t>("seed");
  c.state.epoch = r.get<int>("epoch");
  c.state.iteration = r.get<int>("iteration");
  c.state.ema_pseudo_dice = number_or_nan(r.at("ema_pseudo_dice"));
  c.state.best_ema = number_or_nan(r.at("best_ema"));
  JsonReader rng = r.child("rng");
  c.state.next_train_batch = rng.get<int64_t>("next_train_batch");
  c.state.next_val_batch = rng.get<int64_t>("next_val_batch");
  JsonReader partial = r.child("partial_epoch");
  c.state.partial_loss_sum = partial.get<double>("loss_sum");
  c.state.partial_train_seconds = partial.get<double>("train_seconds");
  c.state.partial_wait_seconds = partial.get<double>("loader_wait_seconds");
  c.state.history = history_from_json(r.at("history"), where);
  c.settings = trainer_settings_from_json(r.at("trainer_settings"), where + " (trainer_settings)");
  return c;
}

}  // namespace medseg
