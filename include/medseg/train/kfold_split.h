// Cross-validation folds: the reference's 5-fold split (sklearn KFold, shuffled with
// random_state 12345, over the sorted case ids), written once to <work_dir>/splits_final.json
// as a list of {"train": [...], "val": [...]}, and read back (user edits respected) after.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medseg/infer/model_folder.h"

namespace medseg {

inline constexpr int kNumFolds = 5;
inline constexpr uint32_t kSplitSeed = 12345;
inline constexpr const char* kSplitsFile = "splits_final.json";

struct FoldSplit {
  std::vector<std::string> train;
  std::vector<std::string> val;
};

// "all" -> kFoldAll, "3" -> 3; UsageError for anything else (negative numbers included).
int parse_fold(const std::string& text);

// KFold(n_folds, shuffle=True, random_state=seed) over the sorted ids, exactly as numpy's
// RandomState shuffles (MT19937 seeded by init_genrand, Fisher-Yates with masked rejection);
// train and val lists in sorted order. Error when there are fewer cases than folds.
std::vector<FoldSplit> make_kfold_splits(std::vector<std::string> ids, int n_folds = kNumFolds,
                                         uint32_t seed = kSplitSeed);

nlohmann::json splits_to_json(const std::vector<FoldSplit>& splits);
// Strict: a list of objects with exactly "train" and "val" (lists of strings); Error naming
// `where` otherwise.
std::vector<FoldSplit> splits_from_json(const nlohmann::json& json, const std::string& where);

// Throws Error naming `where`, the fold and the id for an id that is not in `known_ids`, an id
// in both train and val of a fold, or a fold with an empty train or val list.
void validate_splits(const std::vector<FoldSplit>& splits, const std::vector<std::string>& known_ids,
                     const std::string& where);

// Reads `splits_file` when it exists (validated against `case_ids`), else makes the reference's
// split of `case_ids` and writes it (atomically).
std::vector<FoldSplit> load_or_create_splits(const std::filesystem::path& splits_file,
                                             const std::vector<std::string>& case_ids);

// The cases of one fold: splits[fold], or for kFoldAll every case in train and val alike
// (no split file needed). Error when the fold is not in the split.
FoldSplit select_fold(const std::filesystem::path& splits_file,
                      const std::vector<std::string>& case_ids, int fold);

}  // namespace medseg
