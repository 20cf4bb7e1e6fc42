// `medseg preprocess`: every training case of a dataset through preprocess_case() for each
// requested configuration, into <work_dir>/preprocessed/<data_identifier>/, with the reference
// labels copied to <work_dir>/gt_segmentations/. Cases already complete are skipped unless
// overwrite is set, so an interrupted run resumes where it stopped.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

// Name of the file in the work folder where `medseg plan` records the dataset folder.
inline constexpr const char* kDatasetPathFile = "dataset_path.txt";

struct PreprocessOptions {
  std::filesystem::path work_dir;           // holds plans.json and dataset.json from medseg plan
  std::filesystem::path dataset_dir;        // empty: the path in <work_dir>/dataset_path.txt
  std::vector<std::string> configurations;  // empty: every planned configuration
  int workers = 1;                          // cases preprocessed at once (-j)
  int threads = 0;                          // threads the whole run may use; <= 0: all cores
  bool overwrite = false;                   // redo cases that are already complete
};

struct ConfigurationReport {
  std::string name;
  std::string data_identifier;
  std::filesystem::path output_dir;
  int processed = 0;
  int skipped = 0;  // complete before this run
  double seconds = 0;
};

struct PreprocessReport {
  std::vector<ConfigurationReport> configurations;  // one per distinct data_identifier
  int labels_copied = 0;                            // into gt_segmentations/
};

// The dataset folder: `dataset_dir` when given, else the one <work_dir>/dataset_path.txt names;
// UsageError when there is neither.
std::filesystem::path resolve_dataset_dir(const std::filesystem::path& work_dir,
                                          const std::filesystem::path& dataset_dir);

// Throws Error naming the case (and leaving none of its files behind) when a case fails;
// cases finished before the failure stay complete.
PreprocessReport preprocess_dataset(const PreprocessOptions& options);

}  // namespace medseg
