// The model folder a training run writes and `medseg predict -m` reads:
// <work_dir>/models/<configuration>/ holds plans.json, dataset.json and trainer_settings.json
// (so the folder is self-contained), and one fold_<k>/ (fold_all) per trained fold with the
// checkpoints, training_log.jsonl, progress.svg and validation/.
#pragma once

#include <filesystem>
#include <string>

#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"
#include "medseg/train/trainer_settings.h"

namespace medseg {

inline constexpr const char* kCheckpointLatest = "checkpoint_latest.pt";
inline constexpr const char* kCheckpointBest = "checkpoint_best.pt";
inline constexpr const char* kCheckpointFinal = "checkpoint_final.pt";

struct FoldPaths {
  std::filesystem::path dir;  // <model>/fold_<k>
  std::filesystem::path latest, best, final;
  std::filesystem::path training_log;   // training_log.jsonl
  std::filesystem::path progress_plot;  // progress.svg
  std::filesystem::path validation;     // validation/ (predictions + summary.json)
};

// <work_dir>/models/<configuration>
std::filesystem::path model_folder(const std::filesystem::path& work_dir,
                                   const std::string& configuration);

// <model_dir>/predicted_next_stage/<next_configuration>: a 3d_lowres model's segmentations of
// its validation cases on the next stage's grid (the reference's predicted_next_stage).
std::filesystem::path predicted_next_stage_dir(const std::filesystem::path& model_dir,
                                               const std::string& next_configuration);

// The files of one fold (kFoldAll: fold_all) inside a model folder.
FoldPaths fold_paths(const std::filesystem::path& model_dir, int fold);

// Writes plans.json, dataset.json (the dataset's file verbatim) and trainer_settings.json into
// the model folder, each atomically; and training_profile.json (qa/training_profile.h) from the
// work folder's case_features.json with the configuration's normalisation schemes, or, when
// `medseg plan` wrote none (an older work folder), a warning that predictions of this model
// will not be checked for being out of distribution.
void write_model_files(const std::filesystem::path& model_dir, const Plans& plans,
                       const std::string& configuration, const DatasetInfo& dataset,
                       const TrainerSettings& settings, const std::filesystem::path& work_dir);

}  // namespace medseg
