// The JSON files a user or an earlier run hands medseg, each input given to every reader:
// dataset.json, plans.json, trainer settings, splits_final.json, a checkpoint's metadata (with
// its trainer settings and training history), training_log.jsonl, postprocessing.json, a
// preprocessed case's <case>.json and dataset_fingerprint.json.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "medseg/core/files.h"
#include "medseg/infer/postprocessing.h"
#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"
#include "medseg/plan/fingerprint.h"
#include "medseg/preprocess/case_properties.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/trainer_settings.h"
#include "medseg/train/training_log.h"
#include "medseg/train/training_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  const auto path = medseg::fuzz::write_input(data, size, "input.json");
  const std::string where = path.string();
  expect_error_or_success([&] { medseg::read_training_log(path); });
  nlohmann::json json;
  try {
    json = medseg::read_json(path);
  } catch (const medseg::Error&) {
    return 0;
  }
  expect_error_or_success([&] { medseg::parse_dataset_json(json, where); });
  expect_error_or_success([&] {
    const medseg::Plans plans = medseg::plans_from_json(json, where);
    for (const auto& [name, configuration] : plans.configurations) plans.configuration(name);
  });
  expect_error_or_success([&] { medseg::trainer_settings_from_json(json, where); });
  expect_error_or_success([&] {
    const auto splits = medseg::splits_from_json(json, where);
    medseg::validate_splits(splits, {"case_000", "case_001", "case_002", "case_003", "case_004"},
                            where);
  });
  expect_error_or_success([&] { medseg::checkpoint_record_from_meta(json, where); });
  expect_error_or_success([&] { medseg::postprocessing_from_json(json, where); });
  expect_error_or_success([&] { medseg::case_properties_from_json(json, where); });
  expect_error_or_success([&] { medseg::fingerprint_from_json(json, where); });
  return 0;
}
