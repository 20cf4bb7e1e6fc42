// Postprocessing of predicted label maps (the reference's remove_all_but_largest_component
// steps) and its file, <model_dir>/postprocessing.json (docs/file-formats.md): a list of steps
// applied in order, each keeping only the largest connected component of the union of some
// label values; voxels of the other components become background.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"

namespace medseg {

inline constexpr int kPostprocessingVersion = 1;

struct PostprocessingStep {
  std::vector<int> labels;  // label values whose union forms the mask
};

struct PostprocessingPlan {
  std::vector<PostprocessingStep> steps;
  nlohmann::json details = nlohmann::json::object();  // how the steps were chosen (Dice scores)
};

// segmentation (2D or 3D, integer) with the voxels of `labels` outside the largest component
// of their union set to 0; a new tensor.
at::Tensor keep_largest_component(const at::Tensor& segmentation, const std::vector<int>& labels);

at::Tensor apply_postprocessing(const at::Tensor& segmentation, const PostprocessingPlan& plan);

nlohmann::json to_json(const PostprocessingPlan& plan);
// Strict: unknown keys, a wrong version or an empty label list throw Error naming `where`.
PostprocessingPlan postprocessing_from_json(const nlohmann::json& j, const std::string& where);

PostprocessingPlan read_postprocessing(const std::filesystem::path& path);

// Error naming `plan_file` and `dataset_file` when a step names a label the dataset does not
// declare.
void check_postprocessing_labels(const PostprocessingPlan& plan, const DatasetInfo& dataset,
                                 const std::filesystem::path& plan_file,
                                 const std::filesystem::path& dataset_file);
void write_postprocessing(const PostprocessingPlan& plan,
                          const std::filesystem::path& path);  // atomic

}  // namespace medseg
