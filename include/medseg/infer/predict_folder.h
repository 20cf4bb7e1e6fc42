// Prediction of a folder (or one file) of cases: discovery of <case>_XXXX<file_ending> channel
// files, a deterministic split over several processes or machines (--num-parts / --part-id),
// and one output <case><file_ending> per case, with progress per case.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "medseg/infer/predictor.h"
#include "medseg/io/dataset.h"

namespace medseg {

// The cases of `input`: a folder (every case in it; Error listing every naming problem or an
// empty folder) or one channel file (its case; the other channels are looked up beside it; a
// single-channel dataset also accepts a name without the _XXXX suffix). Sorted by id.
std::vector<CaseFiles> prediction_cases(const std::filesystem::path& input,
                                        const DatasetInfo& dataset);

// Case i of the sorted list goes to part i % num_parts (Error for part_id outside [0, num_parts)).
std::vector<CaseFiles> select_part(const std::vector<CaseFiles>& cases, int num_parts, int part_id);

struct PredictFolderOptions {
  std::filesystem::path input;       // folder or file
  std::filesystem::path output_dir;  // created when missing
  int num_parts = 1;
  int part_id = 0;
  std::filesystem::path previous_stage_dir;  // cascade: <case><file_ending> of the previous stage
  bool skip_existing = false;                // keep outputs that already exist (an empty or
                                             // unreadable one is predicted again, with a warning)
};

struct PredictFolderResult {
  size_t cases = 0;      // in this part
  size_t predicted = 0;  // written now (cases minus skipped)
  double seconds = 0;
  QaReport report;          // every case of this part (skipped ones from the earlier report)
  std::string report_file;  // <output_dir>/report.json (report_part<k>_of<n>.json with parts)
};

// The QA report's name (without extension) for a part: "report", or "report_part<k>_of<n>".
std::string qa_report_stem(int num_parts, int part_id);

// The QA report of a prediction folder as its cases are predicted (NIfTI or DICOM input):
// says up front when the out-of-distribution check is off, warns per finding, rewrites the
// report every few cases and at the end, and logs the summary line. With --continue, the
// cases kept keep their rows of the earlier report.
class QaReportWriter {
 public:
  QaReportWriter(const Predictor& predictor, const PredictFolderOptions& options);
  // A case whose output was kept (--continue).
  void keep(const std::string& case_id);
  void add(CaseQa qa);
  // Writes the report and logs the summary; returns it.
  QaReport finish();
  const std::filesystem::path& file() const { return file_; }

 private:
  const DatasetInfo& dataset_;
  std::filesystem::path dir_, file_;
  std::string stem_;
  QaReport report_;
  std::vector<CaseQa> earlier_;
  size_t added_ = 0;
};

PredictFolderResult predict_folder(const Predictor& predictor, const PredictFolderOptions& options);

// --continue: true when `output` exists and is a complete image (logged as skipped, case
// `index` of `count`); an existing but broken file (an earlier run stopped by a full disk) is
// logged and predicted again (false).
bool existing_output_is_complete(const std::filesystem::path& output, size_t index, size_t count,
                                 const std::string& case_id);

}  // namespace medseg
