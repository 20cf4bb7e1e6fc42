#include "medseg/train/trainer_settings.h"

#include <spdlog/fmt/fmt.h>

#include <type_traits>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"

namespace medseg {

namespace {

// Every field with its JSON key, once, for writing and reading alike.
template <typename Settings, typename Visitor>
void visit_fields(Settings& s, Visitor&& visit) {
  visit("num_epochs", s.num_epochs);
  visit("iterations_per_epoch", s.iterations_per_epoch);
  visit("val_iterations", s.val_iterations);
  visit("initial_lr", s.initial_lr);
  visit("lr_exponent", s.lr_exponent);
  visit("momentum", s.momentum);
  visit("nesterov", s.nesterov);
  visit("weight_decay", s.weight_decay);
  visit("grad_clip_norm", s.grad_clip_norm);
  visit("checkpoint_every", s.checkpoint_every);
  visit("pseudo_dice_ema", s.pseudo_dice_ema);
  visit("oversample_foreground", s.oversample_foreground);
  visit("deep_supervision", s.deep_supervision);
  visit("augmentation", s.augmentation);
  visit("mirroring", s.mirroring);
  visit("loss_weight_ce", s.loss_weight_ce);
  visit("loss_weight_dice", s.loss_weight_dice);
  visit("mixed_precision", s.mixed_precision);
  visit("validation_step_size", s.validation_step_size);
  visit("loader_workers", s.loader_workers);
  visit("seed", s.seed);
}

void require(bool ok, const std::string& where, const std::string& what) {
  if (!ok) throw Error(where, what);
}

}  // namespace

nlohmann::json to_json(const TrainerSettings& settings) {
  nlohmann::json j = nlohmann::json::object();
  visit_fields(settings, [&](const char* key, const auto& value) { j[key] = value; });
  return j;
}

TrainerSettings trainer_settings_from_json(const nlohmann::json& json, const std::string& where) {
  JsonReader reader(json, where);
  TrainerSettings s;
  visit_fields(s, [&](const char* key, auto& value) {
    using T = std::decay_t<decltype(value)>;
    if (!reader.has(key)) return;
    const nlohmann::json& raw = reader.at(key);
    // JSON has one number type: a fractional value must not be cut to an integer field.
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      require(!raw.is_number_float(), where, "key '" + std::string(key) + "' must be an integer, got " + raw.dump());
    if constexpr (std::is_same_v<T, uint64_t>)
      require(!raw.is_number_integer() || raw.is_number_unsigned(), where,
              "key '" + std::string(key) + "' must not be negative, got " + raw.dump());
    value = reader.get<T>(key);
  });
  reader.reject_unknown_keys();
  validate_trainer_settings(s, where);
  return s;
}

TrainerSettings read_trainer_settings(const std::filesystem::path& path) {
  return trainer_settings_from_json(read_json(path), path.string());
}

void validate_trainer_settings(const TrainerSettings& s, const std::string& where) {
  const auto positive = [&](const char* key, double value) {
    require(value > 0, where, std::string(key) + " must be positive, got " + fmt::format("{}", value));
  };
  positive("num_epochs", s.num_epochs);
  positive("iterations_per_epoch", s.iterations_per_epoch);
  positive("val_iterations", s.val_iterations);
  positive("initial_lr", s.initial_lr);
  positive("checkpoint_every", s.checkpoint_every);
  positive("validation_step_size", s.validation_step_size);
  require(s.lr_exponent >= 0, where, "lr_exponent must not be negative");
  require(s.momentum >= 0 && s.momentum < 1, where,
          "momentum must be in [0, 1), got " + fmt::format("{}", s.momentum));
  require(s.weight_decay >= 0, where, "weight_decay must not be negative");
  require(s.pseudo_dice_ema >= 0 && s.pseudo_dice_ema < 1, where,
          "pseudo_dice_ema must be in [0, 1), got " + fmt::format("{}", s.pseudo_dice_ema));
  require(s.oversample_foreground >= 0 && s.oversample_foreground <= 1, where,
          "oversample_foreground must be in [0, 1], got " + fmt::format("{}", s.oversample_foreground));
  require(s.validation_step_size <= 1, where, "validation_step_size must be in (0, 1]");
  require(s.loss_weight_ce >= 0 && s.loss_weight_dice >= 0 &&
              s.loss_weight_ce + s.loss_weight_dice > 0,
          where, "loss weights must not be negative and not both 0");
}

}  // namespace medseg
