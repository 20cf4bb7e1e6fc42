#include "medseg/train/crossval.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/core/progress.h"
#include "medseg/core/parallel.h"
#include "medseg/infer/ensemble.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/predictor.h"
#include "medseg/io/dataset.h"
#include "medseg/train/final_validation.h"

namespace medseg {

namespace {

std::string joined_ids(const std::vector<std::string>& ids, size_t at_most = 5) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < at_most; ++i) s += (i ? ", " : "") + ids[i];
  if (ids.size() > at_most) s += ", ... (" + std::to_string(ids.size()) + " in all)";
  return s;
}

FoldValidation inspect_fold(const fs::path& model_dir, int fold, const FoldSplit& split,
                            const std::string& file_ending) {
  FoldValidation v;
  v.fold = fold;
  v.validation_dir = fold_directory(model_dir, fold) / "validation";
  v.cases = split.val;
  std::sort(v.cases.begin(), v.cases.end());
  if (!fs::is_directory(fold_directory(model_dir, fold))) {
    v.missing = v.cases;
    v.problem = "no " + fold_folder_name(fold) + " folder (fold not trained)";
    return v;
  }
  if (!fs::is_directory(v.validation_dir)) {
    v.missing = v.cases;
    v.problem =
        "no validation predictions (training unfinished, or run with "
        "--no-final-validation: finish it with medseg train --continue)";
    return v;
  }
  for (const std::string& id : v.cases) {
    const fs::path label_map = v.validation_dir / (id + file_ending);
    if (!fs::exists(label_map)) {
      v.missing.push_back(id);
      continue;
    }
    if (!fs::exists(probabilities_file(label_map, file_ending)) ||
        !fs::exists(probabilities_description_file(label_map, file_ending)))
      v.without_probabilities.push_back(id);
  }
  if (!v.missing.empty())
    v.problem = std::to_string(v.cases.size() - v.missing.size()) + " of " +
                std::to_string(v.cases.size()) +
                " validation cases predicted (missing: " + joined_ids(v.missing) + ")";
  return v;
}

fs::path work_dir_of(const fs::path& model_dir) {
  return (model_dir / ".." / "..").lexically_normal();
}

// Which fold validates each case; a case in two folds' "val" is an Error.
std::map<std::string, int> case_folds(const std::vector<FoldValidation>& folds,
                                      const fs::path& splits_file) {
  std::map<std::string, int> fold_of;
  for (const FoldValidation& f : folds)
    for (const std::string& id : f.cases) {
      const auto [it, inserted] = fold_of.emplace(id, f.fold);
      if (!inserted)
        throw Error(splits_file.string(), "case " + id + " is a validation case of folds " +
                                              std::to_string(it->second) + " and " +
                                              std::to_string(f.fold));
    }
  return fold_of;
}

// Every fold of every model must be complete (with probabilities for an ensemble).
void require_complete(const std::vector<CrossValidationStatus>& statuses, bool ensemble) {
  for (const CrossValidationStatus& status : statuses)
    for (const FoldValidation& f : status.folds) {
      if (!f.complete())
        throw Error(f.validation_dir.string(), "fold " + std::to_string(f.fold) + " of " +
                                                   status.model_dir.string() +
                                                   " is incomplete: " + f.problem);
      if (ensemble && !f.without_probabilities.empty())
        throw Error(f.validation_dir.string(),
                    "no probabilities of case(s) " + joined_ids(f.without_probabilities) +
                        " (an ensemble needs them: train with --save-probabilities)");
    }
}

}  // namespace

bool CrossValidationStatus::complete() const {
  return std::all_of(folds.begin(), folds.end(),
                     [](const FoldValidation& f) { return f.complete(); });
}

bool CrossValidationStatus::has_probabilities() const {
  return std::all_of(folds.begin(), folds.end(),
                     [](const FoldValidation& f) { return f.has_probabilities(); });
}

std::string CrossValidationStatus::problems() const {
  std::string s;
  for (const FoldValidation& f : folds)
    if (!f.complete())
      s += (s.empty() ? "" : "; ") + ("fold " + std::to_string(f.fold) + ": " + f.problem);
  return s;
}

std::vector<int> crossval_folds(const std::vector<FoldSplit>& splits,
                                const std::vector<int>& requested, const fs::path& splits_file) {
  std::vector<int> folds = requested;
  if (folds.empty())
    for (size_t k = 0; k < splits.size(); ++k) folds.push_back(static_cast<int>(k));
  std::set<int> seen;
  for (int fold : folds) {
    if (fold < 0 || static_cast<size_t>(fold) >= splits.size())
      throw UsageError(splits_file.string(), "has " + std::to_string(splits.size()) +
                                                 " folds (0 to " +
                                                 std::to_string(splits.size() - 1) +
                                                 "); there is no fold " + std::to_string(fold));
    if (!seen.insert(fold).second)
      throw UsageError("folds", "fold " + std::to_string(fold) + " is given twice");
  }
  return folds;
}

CrossValidationStatus crossval_status(const fs::path& model_dir,
                                      const std::vector<FoldSplit>& splits,
                                      const std::vector<int>& folds,
                                      const std::string& file_ending) {
  CrossValidationStatus status;
  status.model_dir = model_dir;
  for (int fold : folds) {
    if (fold < 0 || static_cast<size_t>(fold) >= splits.size())
      throw UsageError("folds", "the split has no fold " + std::to_string(fold));
    status.folds.push_back(
        inspect_fold(model_dir, fold, splits[static_cast<size_t>(fold)], file_ending));
  }
  return status;
}

std::string crossval_folder_name(const std::vector<int>& folds) {
  std::string name = "crossval_results_folds";
  for (int fold : folds) name += "_" + std::to_string(fold);
  return name;
}

std::string ensemble_folder_name(const std::vector<fs::path>& model_dirs) {
  std::string name = "ensemble";
  for (const fs::path& dir : model_dirs) name += "__" + folder_configuration(dir);
  return name;
}

fs::path crossval_output_dir(const CrossValidationOptions& o, const std::vector<int>& folds) {
  if (o.model_dirs.empty()) throw Error("cross-validation", "no model folder given");
  if (o.model_dirs.size() == 1) return o.model_dirs.front() / crossval_folder_name(folds);
  return work_dir_of(o.model_dirs.front()) / "ensembles" / ensemble_folder_name(o.model_dirs);
}

CrossValidationResult score_crossval(const CrossValidationOptions& o) {
  if (o.model_dirs.empty()) throw Error("cross-validation", "no model folder given");
  const fs::path work = work_dir_of(o.model_dirs.front());
  const fs::path splits_file = o.splits_file.empty() ? work / kSplitsFile : o.splits_file;
  const fs::path reference_dir =
      o.reference_dir.empty() ? work / "gt_segmentations" : o.reference_dir;
  if (!fs::exists(splits_file))
    throw Error(splits_file.string(),
                "not found: the cross-validation folds come from the split "
                "that medseg train writes");
  const std::vector<FoldSplit> splits =
      splits_from_json(read_json(splits_file), splits_file.string());
  CrossValidationResult result;
  result.folds = crossval_folds(splits, o.folds, splits_file);
  for (const fs::path& dir : o.model_dirs)
    if (!fs::is_directory(dir)) throw Error(dir.string(), "model folder not found");
  const DatasetInfo dataset = read_dataset_json(o.model_dirs.front() / "dataset.json");
  std::vector<CrossValidationStatus> statuses;
  for (const fs::path& dir : o.model_dirs)
    statuses.push_back(crossval_status(dir, splits, result.folds, dataset.file_ending));
  const bool ensemble = o.model_dirs.size() > 1;
  require_complete(statuses, ensemble);
  const std::map<std::string, int> fold_of = case_folds(statuses.front().folds, splits_file);
  for (const auto& entry : fold_of) result.cases.push_back(entry.first);

  result.output_dir = crossval_output_dir(o, result.folds);
  remove_tree(result.output_dir);
  fs::create_directories(result.output_dir);
  Progress progress("cross-validation " + result.output_dir.parent_path().filename().string(),
                    static_cast<int64_t>(result.cases.size()), case_loop_progress());
  parallel_for(result.cases.size(), o.threads, [&](size_t i) {
    const std::string& id = result.cases[i];
    const int fold = fold_of.at(id);
    if (!ensemble) {
      const fs::path file =
          fold_directory(o.model_dirs.front(), fold) / "validation" / (id + dataset.file_ending);
      copy_file_atomically(file, result.output_dir / file.filename());
      progress.advance();
      return;
    }
    std::vector<fs::path> inputs;
    for (const fs::path& dir : o.model_dirs)
      inputs.push_back(fold_directory(dir, fold) / "validation");
    ensemble_case(id, inputs, dataset, result.output_dir);
    progress.advance();
  });
  copy_file_atomically(o.model_dirs.front() / "dataset.json", result.output_dir / "dataset.json");
  result.summary =
      evaluate_cases(reference_dir, result.output_dir, result.cases, dataset, o.threads);
  const auto dice = result.summary.foreground_mean.find("Dice");
  log().info("cross-validation of {} over fold(s) {}: {} cases, mean foreground Dice {:.4f} ({})",
             ensemble ? ensemble_folder_name(o.model_dirs) : o.model_dirs.front().string(),
             nlohmann::json(result.folds).dump(), result.cases.size(),
             dice == result.summary.foreground_mean.end() ? NAN : dice->second,
             result.summary.summary_file.string());
  return result;
}

}  // namespace medseg
