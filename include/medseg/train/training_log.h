// What each epoch reports: one record per epoch, kept in the checkpoints (so a resumed run
// continues the same curve) and written as <fold>/training_log.jsonl, one JSON object a line.
#pragma once

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace medseg {

struct EpochRecord {
  int epoch = 0;                    // 0-based
  double train_loss = 0;            // mean over the epoch's training iterations
  double val_loss = 0;              // mean over the validation iterations
  std::vector<double> pseudo_dice;  // per foreground class or region; NaN: class never seen
  double mean_pseudo_dice = 0;      // mean of the non-NaN entries
  double ema_pseudo_dice = 0;       // moving average of mean_pseudo_dice
  double learning_rate = 0;
  double epoch_seconds = 0;        // wall time of the whole epoch (training + validation)
  double train_seconds = 0;        // wall time of the training iterations
  double loader_wait_seconds = 0;  // of train_seconds: time blocked waiting for batches
  double val_loader_wait_seconds = 0;
  // Optional (NaN when unknown, e.g. in logs of earlier versions):
  double end_time = kUnknown;      // when the epoch ended, seconds since the Unix epoch
  double train_tflops = kUnknown;  // TFLOP/s of the training iterations, 3 x the forward pass's
                                   // convolutions per sample (nn/network_cost.h)
  static constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
};

// A number as JSON: NaN and infinities (which JSON lacks) as null.
nlohmann::json json_number(double value);

// NaN is written as null and read back as NaN.
nlohmann::json to_json(const EpochRecord& record);
EpochRecord epoch_record_from_json(const nlohmann::json& json, const std::string& where);

nlohmann::json history_to_json(const std::vector<EpochRecord>& history);
std::vector<EpochRecord> history_from_json(const nlohmann::json& json, const std::string& where);

// Rewrites the whole log (atomically): one line per record.
void write_training_log(const std::filesystem::path& path, const std::vector<EpochRecord>& history);
// Parses a training_log.jsonl (Error naming the file and line on a bad one).
std::vector<EpochRecord> read_training_log(const std::filesystem::path& path);

// The console line of an epoch: "epoch 3/1000  train -0.412  val -0.380  dice [0.81 0.77]
// ema 0.721  lr 0.00998  12.3 s (waited 0.1 s for batches)".
std::string epoch_summary_line(const EpochRecord& record, int num_epochs);

}  // namespace medseg
