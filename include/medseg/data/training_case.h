// What the training data loader reads: one preprocessed case as tensors (image, labels and the
// stored foreground locations used for oversampling), served by a CaseSource that every loader
// worker shares, so a case is loaded once and never copied per worker.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace medseg {

struct TrainingCase {
  std::string id;
  at::Tensor data;  // float32 (channels, spatial...), on the CPU, normalized
  at::Tensor seg;   // int16 (1, spatial...): labels, -1 outside the body's nonzero mask
  // Per foreground class (label value, or region index for region-based datasets): int64
  // (n, spatial dims) voxel coordinates in seg's spatial axes (no channel column). The
  // sampler treats every key as foreground; empty lists are allowed (class absent).
  std::map<int, at::Tensor> class_locations;
  // Datasets with an ignore label only (else undefined): int64 (n, spatial dims) voxels with
  // any label but the ignore label, background included (the reference's "all labels"
  // class). Samples not forced onto foreground are then centred on one of them, so patches
  // see annotated voxels; forced samples fall back to them when no class is present.
  at::Tensor annotated_locations;
  // Cascade stages only (else undefined): int16 (1, spatial...) the previous stage's
  // segmentation on this case's grid (labels >= 0), cut with the same patches as seg.
  at::Tensor previous_stage;
};

// Throws Error("case <id>", ...) naming the first problem: data not float32 with a channel axis
// and 2 or 3 spatial axes, seg not int16 (1, same spatial...), a location list (classes or
// annotated) of the wrong dtype or width, a coordinate outside the volume, or a previous-stage
// segmentation not shaped like seg.
void validate_training_case(const TrainingCase& training_case);

// Coordinates of every voxel of each label > 0 in seg (1, spatial...), as class_locations
// stores them; for synthetic cases and tests (the preprocessor stores a subsample).
std::map<int, at::Tensor> all_class_locations(const at::Tensor& seg);

// The cases one training run samples from. Implementations are thread-safe (get is called
// from every loader worker at once) and keep cases cached or memory-mapped, so get is cheap.
class CaseSource {
 public:
  virtual ~CaseSource() = default;
  virtual std::size_t size() const = 0;
  // The case at index i < size(); the returned tensors must not be modified.
  virtual std::shared_ptr<const TrainingCase> get(std::size_t i) const = 0;
};

// Cases held in memory (tests, benchmarks, small datasets). Validates every case.
class InMemoryCaseSource : public CaseSource {
 public:
  explicit InMemoryCaseSource(std::vector<TrainingCase> cases);
  std::size_t size() const override { return cases_.size(); }
  std::shared_ptr<const TrainingCase> get(std::size_t i) const override;

 private:
  std::vector<std::shared_ptr<const TrainingCase>> cases_;
};

}  // namespace medseg
