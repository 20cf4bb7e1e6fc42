// The reference nnU-Net v2's postprocessing and inference instructions, for `medseg predict` on
// its results folders: postprocessing.pkl (determine_postprocessing's pickled pair of
// functions and keyword arguments) as medseg's PostprocessingPlan, and
// inference_information.json (find_best_configuration, beside the results folders), which
// names the best model, its folds and its postprocessing.pkl.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "medseg/infer/postprocessing.h"

namespace medseg {

// Each step remove_all_but_largest_component_from_segmentation with labels_or_regions a label,
// a region (tuple of labels) or a list of either: the union of those labels. Read without
// Python (io/pickle.h); Error naming the file and the step for any other function, keyword or
// value.
PostprocessingPlan read_nnunet_postprocessing(const std::filesystem::path& pkl);

// What `medseg predict` takes from inference_information.json.
struct NnunetInferenceInformation {
  struct Model {
    std::string trainer, plans_identifier, configuration;
    std::string folder_name() const;  // <trainer>__<plans_identifier>__<configuration>
  };
  std::vector<int> folds;           // "folds"
  std::vector<Model> selected;      // "best_model_or_ensemble"."selected_model_or_models"
  std::string postprocessing_file;  // "best_model_or_ensemble"."postprocessing_file", as written
};

// Error naming the file and the key when one of those keys is missing or of another type.
NnunetInferenceInformation read_nnunet_inference_information(const std::filesystem::path& file);

// The reference's instructions for predicting with results folder `model_dir`.
struct NnunetInstructions {
  // The folds of inference_information.json when it selects `model_dir` alone (not an
  // ensemble).
  std::optional<std::vector<int>> folds;
  // The postprocessing.pkl to apply: the one inference_information.json names (its path taken
  // relative to `model_dir`, so a moved results folder still finds it); without that, the
  // only <model_dir>/crossval_results_folds_*/postprocessing.pkl, or of several the one of
  // `folds` (crossval_results_folds_0_1_2_3_4 for folds 0 to 4).
  std::optional<std::filesystem::path> postprocessing;
  std::vector<std::string> notes;  // what was found and not used, for the log
};

// `postprocessing` false: none looked for (--no-postprocessing). Error naming
// inference_information.json and its key when it selects `model_dir` but names a
// postprocessing.pkl that is not there, or naming `model_dir` when several
// crossval_results_folds_*/postprocessing.pkl exist and none is of `folds`.
NnunetInstructions nnunet_instructions(const std::filesystem::path& model_dir,
                                       const std::vector<int>& folds, bool postprocessing = true);

}  // namespace medseg
