// Cross-validation results of trained model folders (the reference's accumulate_cv_results and
// ensemble_crossvalidations): every fold's final-validation predictions of one configuration,
// or the mean of several configurations' probabilities of the same validation cases, gathered
// into one folder and scored together against the reference labels into its summary.json. The
// folds and their cases come from <work>/splits_final.json (train/kfold_split.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/eval/evaluation_summary.h"
#include "medseg/train/kfold_split.h"

namespace medseg {

// One fold of a model folder against its validation cases in the split.
struct FoldValidation {
  int fold = 0;
  std::filesystem::path validation_dir;            // <model>/fold_<k>/validation
  std::vector<std::string> cases;                  // the fold's "val" list
  std::vector<std::string> missing;                // of those, without <case><file_ending>
  std::vector<std::string> without_probabilities;  // without <case>.npy or _probabilities.json
  std::string problem;  // why the fold is incomplete ("" when it is complete)

  bool complete() const { return problem.empty(); }
  bool has_probabilities() const { return complete() && without_probabilities.empty(); }
};

struct CrossValidationStatus {
  std::filesystem::path model_dir;
  std::vector<FoldValidation> folds;

  bool complete() const;
  bool has_probabilities() const;  // complete, and every case has its probabilities
  // "fold 3: no fold_3 folder; fold 4: 1 of 2 validation cases predicted (missing: a)".
  std::string problems() const;
};

// The split's folds `requested` (UsageError naming the file for a fold it does not have), or
// all of them when empty.
std::vector<int> crossval_folds(const std::vector<FoldSplit>& splits,
                                const std::vector<int>& requested,
                                const std::filesystem::path& splits_file);

// Looks at fold_<k>/validation/ of each fold (nothing is written): which validation cases of the
// split have a label map <case><file_ending>, and which have their probabilities too.
CrossValidationStatus crossval_status(const std::filesystem::path& model_dir,
                                      const std::vector<FoldSplit>& splits,
                                      const std::vector<int>& folds,
                                      const std::string& file_ending);

// "crossval_results_folds_0_1_2_3_4", as the reference names it.
std::string crossval_folder_name(const std::vector<int>& folds);
// "ensemble__2d__3d_fullres" for model folders .../models/2d and .../models/3d_fullres.
std::string ensemble_folder_name(const std::vector<std::filesystem::path>& model_dirs);

struct CrossValidationOptions {
  // One model folder: its cross-validation, in <model>/crossval_results_folds_<folds>/.
  // Several: the ensemble of their probabilities, in <work>/ensembles/ensemble__<c1>__<c2>/
  // (<work> = the first model folder's ../..).
  std::vector<std::filesystem::path> model_dirs;
  std::vector<int> folds;               // empty: every fold of the split
  std::filesystem::path reference_dir;  // empty: <work>/gt_segmentations
  std::filesystem::path splits_file;    // empty: <work>/splits_final.json
  int threads = 0;                      // cases in parallel; <= 0: all cores
};

struct CrossValidationResult {
  std::vector<int> folds;
  std::vector<std::string> cases;    // every validation case of those folds, sorted
  std::filesystem::path output_dir;  // the label maps, dataset.json, summary.json/.csv
  EvaluationSummary summary;
};

// The output folder of `options` (CrossValidationOptions's comment).
std::filesystem::path crossval_output_dir(const CrossValidationOptions& options,
                                          const std::vector<int>& folds);

// Rebuilds the output folder (removed first): each validation case's label map copied from its
// fold (one model) or ensembled from the models' probabilities (ensemble_case), a copy of the
// first model's dataset.json, and the scores of all cases together (evaluate_cases:
// summary.json, summary.csv). Error naming the fold folder when a fold is incomplete, or lacks
// probabilities for an ensemble, and the split file when a case is in two folds' "val".
CrossValidationResult score_crossval(const CrossValidationOptions& options);

}  // namespace medseg
