// The training loader's CaseSource over `medseg preprocess` output: each case is read once
// (arrays memory-mapped, so a patch costs only the pages it touches), converted to a
// TrainingCase and cached for every loader worker.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "medseg/data/training_case.h"
#include "medseg/io/dataset.h"
#include "medseg/preprocess/case_properties.h"

namespace medseg {

// The stored class locations as the sampler wants them: one tensor per foreground label (keyed
// by its value) or region (keyed by its index in DatasetInfo::foreground()), and with an
// ignore label the "all labels" class as annotated_locations. Throws Error naming the case when
// the stored classes do not match the dataset's (preprocessed with another dataset.json?).
void set_class_locations(TrainingCase& training_case, const CaseProperties& properties,
                         const DatasetInfo& dataset);

class PreprocessedCaseSource : public CaseSource {
 public:
  // Checks at once that every case is complete in `dir` (Error listing the missing ones); the
  // arrays are read on first use. Cascade stages: `previous_stage_dir` holds each case's
  // previous-stage segmentation on this grid (next_stage_file, train/final_validation.h; the
  // caller checks they exist), read with the case (Error naming the file when its shape is not
  // the case's).
  PreprocessedCaseSource(std::filesystem::path dir, std::vector<std::string> case_ids,
                         DatasetInfo dataset, std::filesystem::path previous_stage_dir = {});

  std::size_t size() const override { return ids_.size(); }
  // Thread-safe; reads the case on first use (Error naming the file on a bad one, or on label
  // values that dataset.json does not declare).
  std::shared_ptr<const TrainingCase> get(std::size_t i) const override;
  const std::vector<std::string>& case_ids() const { return ids_; }

 private:
  std::shared_ptr<const TrainingCase> load(std::size_t i) const;

  std::filesystem::path dir_;
  std::vector<std::string> ids_;
  DatasetInfo dataset_;
  std::filesystem::path previous_stage_dir_;
  std::vector<int> allowed_labels_;  // dataset.json's, and -1 (outside the nonzero mask)
  mutable std::vector<std::shared_ptr<const TrainingCase>> cache_;
  mutable std::unique_ptr<std::mutex[]> locks_;  // one per case: different cases load at once
};

}  // namespace medseg
