// `medseg find-best` (the reference's nnUNetv2_find_best_configuration): scores the
// cross-validation of every trained configuration of a work folder and of every pair of them as
// an ensemble (train/crossval.h), picks the one with the best mean foreground Dice, decides its
// postprocessing on its cross-validation predictions, and writes how to segment new images with
// it: <work>/find_best/inference_instructions.json and results.txt.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medseg/infer/postprocessing.h"

namespace medseg {

// Mean foreground Dice values closer than this are a tie.
inline constexpr double kDiceTieTolerance = 1e-9;

struct FindBestOptions {
  std::filesystem::path work_dir;           // holds models/, splits_final.json, gt_segmentations/
  std::vector<std::string> configurations;  // empty: every model folder in <work>/models
  std::vector<int> folds;                   // empty: every fold of splits_final.json
  bool ensembles = true;                    // also every pair of configurations as an ensemble
  int threads = 0;                          // cases in parallel; <= 0: all cores
};

struct ClassDice {
  std::string key;   // summary.json's key: "1", "(1, 2)"
  std::string name;  // dataset.json's name
  double dice = 0;   // mean over the cases (NaN when no case scores the class)
};

// A configuration, or an ensemble of configurations, scored on the cross-validation.
struct Candidate {
  std::string name;                   // "3d_fullres", "ensemble__2d__3d_fullres"
  std::vector<std::string> members;   // its configurations, sorted
  std::filesystem::path results_dir;  // its cross-validation label maps and summary.json
  double foreground_dice = 0;         // mean foreground Dice (NaN: nothing scored)
  std::vector<ClassDice> class_dice;
  bool is_ensemble() const { return members.size() > 1; }
};

struct BestChoice {
  std::size_t index = 0;          // into the candidates
  std::vector<std::size_t> tied;  // the other candidates within kDiceTieTolerance of it
};

// The best mean foreground Dice (NaN never wins unless all are NaN); of tied candidates the
// first in the given order, which find_best_configuration makes single configurations in sorted
// order, then ensembles in sorted order. Error when there is no candidate.
BestChoice choose_best(const std::vector<Candidate>& candidates);

// A model that segments new images: its configuration, folder and, for a cascade stage, the
// configuration whose predictions it needs (plans.json's previous_stage).
struct InferenceMember {
  std::string configuration;
  std::filesystem::path model_dir;
  std::optional<std::string> previous_stage;
};

// The command lines that segment INPUT_FOLDER into OUTPUT_FOLDER with `members` (one: a single
// configuration; several: their ensemble) and the postprocessing file: each member predicted
// (folds, no postprocessing; probabilities for an ensemble) into OUTPUT_FOLDER_<configuration>,
// a cascade stage after its previous stage (--previous-stage), the members ensembled into
// OUTPUT_FOLDER_ensemble (labels from `dataset_json`), then postprocess apply into OUTPUT_FOLDER.
std::vector<std::string> inference_commands(const std::vector<InferenceMember>& members,
                                            const std::vector<int>& folds,
                                            const std::filesystem::path& postprocessing_file,
                                            const std::filesystem::path& dataset_json);

struct FindBestResult {
  std::vector<int> folds;
  std::vector<std::string> cases;     // the cross-validation cases every candidate is scored on
  std::vector<Candidate> candidates;  // configurations sorted by name, then ensembles
  BestChoice choice;
  std::vector<std::pair<std::string, std::string>> excluded;  // configuration, why
  std::vector<std::string> notes;  // configurations left out of ensembles, and why
  PostprocessingPlan postprocessing;
  std::filesystem::path postprocessing_file;  // <chosen results_dir>/postprocessing.json
  std::vector<std::string> commands;          // inference_commands of the choice
  std::filesystem::path instructions_file;    // <work>/find_best/inference_instructions.json
  std::filesystem::path results_file;         // <work>/find_best/results.txt
  std::string report;                         // the text of results_file

  const Candidate& chosen() const { return candidates.at(choice.index); }
};

// A configuration counts as trained when each requested fold has the label maps of all its
// validation cases; the others are excluded with the reason (with explicit configurations, an
// Error naming the fold instead). Pairs of trained configurations whose folds all hold
// probabilities are ensembled (a configuration without them is noted, not an error). Every
// output is written atomically; the postprocessing of the choice goes beside its
// cross-validation predictions (the model folder's own postprocessing.json is left alone).
FindBestResult find_best_configuration(const FindBestOptions& options);

}  // namespace medseg
