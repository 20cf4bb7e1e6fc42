#include "medseg/train/training_log.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"

namespace medseg {

namespace {

double number_from(const nlohmann::json& v, const std::string& where, const std::string& key) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number())
    throw Error(where, "key '" + key + "' must be a number or null, got " + v.dump());
  return v.get<double>();
}

template <typename Record, typename Visitor>
void visit_numbers(Record& r, Visitor&& visit) {
  visit("train_loss", r.train_loss);
  visit("val_loss", r.val_loss);
  visit("mean_pseudo_dice", r.mean_pseudo_dice);
  visit("ema_pseudo_dice", r.ema_pseudo_dice);
  visit("learning_rate", r.learning_rate);
  visit("epoch_seconds", r.epoch_seconds);
  visit("train_seconds", r.train_seconds);
  visit("loader_wait_seconds", r.loader_wait_seconds);
  visit("val_loader_wait_seconds", r.val_loader_wait_seconds);
}

// Numbers a record may lack (added after the first checkpoint format): NaN when absent.
template <typename Record, typename Visitor>
void visit_optional_numbers(Record& r, Visitor&& visit) {
  visit("end_time", r.end_time);
  visit("train_tflops", r.train_tflops);
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

}  // namespace

nlohmann::json json_number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j{{"epoch", r.epoch}};
  nlohmann::json dice = nlohmann::json::array();
  for (double d : r.pseudo_dice) dice.push_back(json_number(d));
  j["pseudo_dice"] = dice;
  const auto write = [&](const char* key, double v) { j[key] = json_number(v); };
  visit_numbers(r, write);
  visit_optional_numbers(r, write);
  return j;
}

EpochRecord epoch_record_from_json(const nlohmann::json& json, const std::string& where) {
  JsonReader reader(json, where);
  EpochRecord r;
  r.epoch = reader.get<int>("epoch");
  const nlohmann::json& dice = reader.at("pseudo_dice");
  if (!dice.is_array()) throw Error(where, "key 'pseudo_dice' must be a list");
  for (const auto& d : dice) r.pseudo_dice.push_back(number_from(d, where, "pseudo_dice"));
  visit_numbers(r,
                [&](const char* key, double& v) { v = number_from(reader.at(key), where, key); });
  visit_optional_numbers(r, [&](const char* key, double& v) {
    if (reader.has(key)) v = number_from(reader.at(key), where, key);
  });
  reader.reject_unknown_keys();
  return r;
}

nlohmann::json history_to_json(const std::vector<EpochRecord>& history) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : history) j.push_back(to_json(r));
  return j;
}

std::vector<EpochRecord> history_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_array()) throw Error(where, "the training history must be a list of epoch records");
  std::vector<EpochRecord> history;
  for (const auto& item : json) history.push_back(epoch_record_from_json(item, where));
  return history;
}

void write_training_log(const fs::path& path, const std::vector<EpochRecord>& history) {
  std::string text;
  for (const auto& r : history) text += to_json(r).dump() + "\n";
  write_text_atomically(path, text);
}

std::vector<EpochRecord> read_training_log(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string(), "cannot open the training log");
  std::vector<EpochRecord> history;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::string where = path.string() + ":" + std::to_string(number);
    try {
      history.push_back(epoch_record_from_json(nlohmann::json::parse(line), where));
    } catch (const nlohmann::json::exception& e) {
      throw Error(where, std::string("not a JSON line: ") + e.what());
    }
  }
  return history;
}

std::string epoch_summary_line(const EpochRecord& r, int num_epochs) {
  std::string dice;
  for (double d : r.pseudo_dice) dice += (dice.empty() ? "" : " ") + fixed(d, 3);
  char lr[32];
  std::snprintf(lr, sizeof lr, "%.3g", r.learning_rate);
  return "epoch " + std::to_string(r.epoch + 1) + "/" + std::to_string(num_epochs) + "  train " +
         fixed(r.train_loss, 4) + "  val " + fixed(r.val_loss, 4) + "  dice [" + dice + "]  ema " +
         fixed(r.ema_pseudo_dice, 4) + "  lr " + lr + "  " + fixed(r.epoch_seconds, 1) +
         " s (waited " + fixed(r.loader_wait_seconds, 1) + " s for batches)" +
         (std::isfinite(r.train_tflops) ? "  " + fixed(r.train_tflops, 2) + " TFLOP/s" : "");
}

}  // namespace medseg
