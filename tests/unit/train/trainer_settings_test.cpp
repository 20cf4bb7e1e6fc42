#include "medseg/train/trainer_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

// configs/ of the source tree, found from this file's path (tests/unit/train/).
std::filesystem::path default_config_file() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
         "configs" / "trainer_default.json";
}

std::string settings_error(const nlohmann::json& j) {
  try {
    trainer_settings_from_json(j, "settings.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(TrainerSettings, DefaultsAreTheReferenceTrainers) {
  const TrainerSettings s;
  EXPECT_EQ(s.num_epochs, 1000);
  EXPECT_EQ(s.iterations_per_epoch, 250);
  EXPECT_EQ(s.val_iterations, 50);
  EXPECT_DOUBLE_EQ(s.initial_lr, 1e-2);
  EXPECT_DOUBLE_EQ(s.momentum, 0.99);
  EXPECT_TRUE(s.nesterov);
  EXPECT_DOUBLE_EQ(s.weight_decay, 3e-5);
  EXPECT_DOUBLE_EQ(s.lr_exponent, 0.9);
  EXPECT_DOUBLE_EQ(s.grad_clip_norm, 12.0);
  EXPECT_EQ(s.checkpoint_every, 50);
  EXPECT_DOUBLE_EQ(s.pseudo_dice_ema, 0.9);
  EXPECT_DOUBLE_EQ(s.oversample_foreground, 0.33);
}

TEST(TrainerSettings, ShippedDefaultFileHoldsExactlyTheDefaults) {
  const std::filesystem::path file = default_config_file();
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  EXPECT_EQ(read_json(file), to_json(TrainerSettings{}));
  EXPECT_EQ(to_json(read_trainer_settings(file)), to_json(TrainerSettings{}));
}

TEST(TrainerSettings, KeysLeftOutKeepTheDefaults) {
  const TrainerSettings s =
      trainer_settings_from_json({{"num_epochs", 5}, {"initial_lr", 0.1}}, "s.json");
  EXPECT_EQ(s.num_epochs, 5);
  EXPECT_DOUBLE_EQ(s.initial_lr, 0.1);
  EXPECT_EQ(s.iterations_per_epoch, 250);
  EXPECT_EQ(s.seed, 12345u);
}

TEST(TrainerSettings, RoundTripsThroughJson) {
  TrainerSettings s;
  s.num_epochs = 7;
  s.mirroring = false;
  s.seed = 99;
  s.grad_clip_norm = 0;
  EXPECT_EQ(to_json(trainer_settings_from_json(to_json(s), "x")), to_json(s));
}

TEST(TrainerSettings, RejectsUnknownKeysWrongTypesAndBadValues) {
  EXPECT_THAT(settings_error({{"num_epoch", 5}}),
              HasSubstr("settings.json: unknown key 'num_epoch'"));
  EXPECT_THAT(settings_error({{"num_epochs", "5"}}), HasSubstr("'num_epochs' has the wrong type"));
  EXPECT_THAT(settings_error({{"num_epochs", 2.5}}),
              HasSubstr("'num_epochs' must be an integer, got 2.5"));
  EXPECT_THAT(settings_error({{"seed", -1}}), HasSubstr("'seed' must not be negative"));
  EXPECT_THAT(settings_error({{"num_epochs", 0}}), HasSubstr("num_epochs must be positive"));
  EXPECT_THAT(settings_error({{"momentum", 1.0}}), HasSubstr("momentum must be in [0, 1)"));
  EXPECT_THAT(settings_error({{"oversample_foreground", 1.5}}),
              HasSubstr("oversample_foreground must be in [0, 1]"));
  EXPECT_THAT(settings_error({{"loss_weight_ce", 0}, {"loss_weight_dice", 0}}),
              HasSubstr("not both 0"));
  EXPECT_THAT(settings_error(nlohmann::json::array()), HasSubstr("must be a JSON object"));
}

}  // namespace
}  // namespace medseg
