// The ensemble of several predictions of the same cases (the reference's nnUNetv2_ensemble):
// the probabilities that `medseg predict --save-probabilities` (or the final validation) wrote,
// <case>.npy + <case>_probabilities.json, averaged over the input folders and turned into a label
// map with labels_from_probabilities (argmax, or the regions' probability > 0.5 painted in
// regions_class_order), written with the inputs' geometry as <case><file_ending>.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"

namespace medseg {

// The case ids of the probabilities in a prediction folder: every <case>_probabilities.json
// (hidden files skipped), sorted. Error when the folder does not exist.
std::vector<std::string> probability_cases(const std::filesystem::path& dir);

// One case: the mean of <dir>/<case>.npy over `input_dirs`, checked first to agree in shape,
// classes (names and values, nonlinearity) and geometry with each other and with `dataset`
// (Error naming the case and the folder that differs), written to
// <output_dir>/<case><file_ending> and, with save_probabilities, <case>.npy and
// <case>_probabilities.json (the first input's description, naming the new label map); each
// file atomically, the label map last.
void ensemble_case(const std::string& case_id, const std::vector<std::filesystem::path>& input_dirs,
                   const DatasetInfo& dataset, const std::filesystem::path& output_dir,
                   bool save_probabilities = false);

struct EnsembleOptions {
  std::vector<std::filesystem::path> input_dirs;  // at least two prediction folders
  std::filesystem::path output_dir;               // must not be one of the inputs
  // Labels, regions and file ending. Empty: the dataset.json of the first input folder that
  // holds one; else one made from the probabilities' descriptions, which is enough for plain
  // labels (regions need regions_class_order: an Error asks for dataset.json).
  std::filesystem::path dataset_json;
  bool save_probabilities = false;
  int threads = 0;  // cases in parallel; <= 0: all cores
};

struct EnsembleResult {
  std::vector<std::string> cases;  // sorted
  DatasetInfo dataset;             // the one used
  std::string dataset_source;      // the dataset.json read, or "the probabilities' descriptions"
};

// Every case of the input folders (a case missing from any folder is an Error naming the case
// and the folder). Nothing is written for a case that fails its checks.
EnsembleResult ensemble_folders(const EnsembleOptions& options);

}  // namespace medseg
