// Chooses the postprocessing from cross-validation predictions, with the reference's rule
// (determine_postprocessing): first "keep the largest component of all foreground together",
// kept if the foreground mean Dice improves and no class's mean Dice gets worse; then, with
// more than one class, "keep the largest component of class c" for each class in order, each
// kept if that class's mean Dice improves. Dice = 2 TP / (2 TP + FP + FN) as in
// eval/metrics.h, NaN (skipped in means) when both masks are empty; voxels of the ignore
// label in the reference are not scored.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medseg/infer/postprocessing.h"
#include "medseg/io/dataset.h"

namespace medseg {

// A scored class: a label (one value) or a region (several); key "1" or "(1, 2)" as in
// summary.json.
struct ScoredClass {
  std::string key;
  std::vector<int> values;
};
std::vector<ScoredClass> scored_classes(const DatasetInfo& dataset);

// (prediction, reference) label maps of one case, same shape.
using CasePairLoader = std::function<std::pair<at::Tensor, at::Tensor>(size_t)>;

struct PostprocessingSearch {
  size_t cases = 0;
  CasePairLoader load;
  std::vector<ScoredClass> classes;
  std::vector<int> foreground_values;  // the "whole foreground" of the first step
  std::optional<int> ignore_label;
  int threads = 1;  // cases scored in parallel; <= 0: all cores
};

// The chosen steps; details hold the mean Dice per class before and after, and each decision.
PostprocessingPlan decide_postprocessing(const PostprocessingSearch& search);

// The search over (prediction file, reference file) pairs of label maps of `dataset`: every
// scored class, the foreground without the ignore label. Error naming a prediction whose shape
// differs from its reference.
PostprocessingPlan decide_postprocessing(
    const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& files,
    const DatasetInfo& dataset, int threads);

struct PostprocessingOptions {
  std::filesystem::path model_dir;      // holds dataset.json and fold_<k>/validation/
  std::vector<int> folds;               // empty: every fold_<k> folder present
  std::filesystem::path reference_dir;  // empty: <model_dir>/../../gt_segmentations
  int threads = 0;
};

// Pairs every prediction in fold_<k>/validation/ with <reference_dir>/<case><file_ending>
// (Error naming a missing reference or fold), decides and writes <model_dir>/postprocessing.json.
PostprocessingPlan determine_postprocessing(const PostprocessingOptions& options);

}  // namespace medseg
