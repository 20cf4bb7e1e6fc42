// `medseg validate`: every check of a dataset folder a user gets wrong, all problems reported,
// not only the first.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

struct ValidationReport {
  int cases_checked = 0;
  std::vector<std::string> problems;  // each names its file and what is wrong

  bool ok() const { return problems.empty(); }
};

// Checks dataset.json, the file naming (missing channels, labels without images and the
// reverse), numTraining, and per case (read in parallel on `threads` threads): unreadable
// files, image/label shape, spacing, origin and direction mismatch, label values not declared,
// non-finite intensities.
ValidationReport validate_dataset(const std::filesystem::path& dataset_dir, int threads);

}  // namespace medseg
