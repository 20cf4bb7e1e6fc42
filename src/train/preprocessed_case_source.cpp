#include "medseg/train/preprocessed_case_source.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/label_values.h"
#include "medseg/preprocess/case_storage.h"
#include "medseg/preprocess/class_locations.h"
#include "medseg/preprocess/npy.h"
#include "medseg/loss/tensor_checks.h"
#include "medseg/train/final_validation.h"

namespace medseg {

void set_class_locations(TrainingCase& c, const CaseProperties& properties, const DatasetInfo& dataset) {
  const std::vector<ClassSpec> expected = location_classes(dataset);
  const auto& stored = properties.class_locations;
  if (stored.size() != expected.size())
    throw Error("case " + c.id, "stores locations of " + std::to_string(stored.size()) +
                                    " classes, the dataset has " + std::to_string(expected.size()) +
                                    " (preprocessed with another dataset.json? run medseg preprocess "
                                    "--overwrite)");
  const int64_t dims = properties.spatial_dims();
  const std::size_t n_foreground = dataset.foreground().size();
  for (std::size_t k = 0; k < stored.size(); ++k) {
    if (stored[k].values != expected[k].values)
      throw Error("case " + c.id, "stored class '" + stored[k].name + "' does not match the dataset's '" +
                                      expected[k].name + "' (run medseg preprocess --overwrite)");
    at::Tensor locations = class_location_tensor(stored[k], dims);
    if (k >= n_foreground) {
      c.annotated_locations = locations;  // the ignore-label datasets' "all labels" class
    } else {
      const int key = dataset.has_regions ? static_cast<int>(k) : stored[k].values.front();
      c.class_locations[key] = locations;
    }
  }
}

PreprocessedCaseSource::PreprocessedCaseSource(fs::path dir, std::vector<std::string> case_ids,
                                               DatasetInfo dataset, fs::path previous_stage_dir)
    : dir_(std::move(dir)),
      ids_(std::move(case_ids)),
      dataset_(std::move(dataset)),
      previous_stage_dir_(std::move(previous_stage_dir)) {
  allowed_labels_ = dataset_.allowed_label_values();
  allowed_labels_.push_back(-1);
  if (ids_.empty()) throw Error(dir_.string(), "no cases to train on");
  std::string missing;
  std::size_t n_missing = 0;
  for (const auto& id : ids_)
    if (!is_preprocessed_case_complete(dir_, id) && n_missing++ < 10) missing += (missing.empty() ? "" : ", ") + id;
  if (n_missing > 0)
    throw Error(dir_.string(), std::to_string(n_missing) + " case(s) are not preprocessed (" + missing +
                                   (n_missing > 10 ? ", ..." : "") + "); run medseg preprocess");
  cache_.resize(ids_.size());
  locks_ = std::make_unique<std::mutex[]>(ids_.size());
}

std::shared_ptr<const TrainingCase> PreprocessedCaseSource::get(std::size_t i) const {
  if (i >= ids_.size())
    throw Error(dir_.string(), "case index " + std::to_string(i) + " out of range (" +
                                   std::to_string(ids_.size()) + " cases)");
  std::lock_guard<std::mutex> lock(locks_[i]);
  if (!cache_[i]) cache_[i] = load(i);
  return cache_[i];
}

std::shared_ptr<const TrainingCase> PreprocessedCaseSource::load(std::size_t i) const {
  PreprocessedCase stored = read_preprocessed_case(dir_, ids_[i], /*mmap=*/true);
  if (!stored.segmentation.defined())
    throw Error(preprocessed_case_files(dir_, ids_[i]).segmentation.string(),
                "missing: a training case needs its segmentation");
  auto c = std::make_shared<TrainingCase>();
  c->id = ids_[i];
  c->data = stored.data;
  c->seg = stored.segmentation;
  if (!previous_stage_dir_.empty()) {
    const fs::path file = next_stage_file(previous_stage_dir_, c->id);
    at::Tensor previous = read_npy(file, /*mmap=*/true);
    if (!previous.sizes().equals(c->seg.sizes()))
      throw Error(file.string(), "the previous stage's segmentation has shape " +
                                     shape_text(previous.sizes()) + ", the preprocessed case " +
                                     shape_text(c->seg.sizes()) +
                                     " (preprocessed again since? train the previous stage again)");
    c->previous_stage = previous.to(at::kShort);
  }
  set_class_locations(*c, stored.properties, dataset_);
  // -1: outside the nonzero mask (preprocessing's own value).
  check_label_values(c->seg, preprocessed_case_files(dir_, ids_[i]).segmentation.string(),
                     allowed_labels_);
  validate_training_case(*c);
  return c;
}

}  // namespace medseg
