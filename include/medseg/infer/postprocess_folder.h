// `medseg postprocess apply` (the reference's nnUNetv2_apply_postprocessing): a postprocessing.json
// applied to every label map of a folder, each written with its own geometry into another folder.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace medseg {

struct PostprocessFolderOptions {
  std::filesystem::path input_dir;   // label maps <case><file_ending>
  std::filesystem::path output_dir;  // may be input_dir (each file is replaced atomically)
  // postprocessing.json, or the reference's postprocessing.pkl (a name ending in .pkl)
  std::filesystem::path postprocessing_file;
  // The file ending and the labels the steps may name. Empty: the dataset.json beside the
  // postprocessing file (a model folder, a cross-validation or ensemble folder of find-best),
  // else the one in input_dir; Error asking for it when there is none.
  std::filesystem::path dataset_json;
  int threads = 0;  // cases in parallel; <= 0: all cores
};

struct PostprocessFolderResult {
  std::size_t cases = 0;
  std::size_t steps = 0;
  std::filesystem::path dataset_json;  // the one used
};

// Error naming the file for an unreadable or non-integer label map, a step naming a label
// dataset.json does not have, or a folder without label maps; probabilities are not copied.
PostprocessFolderResult postprocess_folder(const PostprocessFolderOptions& options);

}  // namespace medseg
