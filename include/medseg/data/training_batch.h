// One training batch from a CaseSource, in two steps so the trainer can choose where the
// augmentation runs: sample_batch cuts the (larger) regions from the cases on the CPU, and
// finish_batch augments, masks and makes the deep-supervision targets on whatever device the
// batch is on (loader threads on the CPU, or the GPU on the whole batch). Both are seeded by
// (seed, batch index) only, so a batch's content never depends on threads or timing.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medseg/data/augmentation.h"
#include "medseg/data/cascade_transforms.h"
#include "medseg/data/patch_sampler.h"
#include "medseg/data/training_case.h"
#include "medseg/io/plans.h"

namespace medseg {

struct Batch {
  int64_t index = 0;                  // position in the sequence of batches
  uint64_t seed = 0;                  // the sequence's seed; with index it seeds every random draw
  std::vector<std::string> case_ids;  // per sample
  at::Tensor data;                    // float (batch, channels, spatial...)
  // Sampled, not finished: int16 (batch, 1, sampled...), -1 outside the body and in padding
  // (cascade stages: (batch, 2, ...), the previous stage's segmentation as channel 1).
  // Finished: undefined (see targets).
  at::Tensor seg;
  // Finished: int16 (batch, 1, spatial...) labels >= 0 per deep-supervision scale, highest
  // resolution first (targets[0] is the patch's own resolution). Empty until finished.
  std::vector<at::Tensor> targets;
  bool finished() const { return !targets.empty(); }
};

struct BatchOptions {
  int64_t batch_size = 2;
  PatchSamplerOptions sampler;  // patch size, sampled size, foreground oversampling
  AugmentationOptions augmentation = no_augmentation();
  // Channels normalized inside the nonzero mask: zeroed where the labels are -1 after the
  // spatial transform (the reference's MaskTransform; training only).
  std::vector<int64_t> mask_channels;
  // Deep supervision (target_scales_from_strides); empty: only the full-resolution target.
  std::vector<std::vector<double>> target_scales;
  // Cascade stages (previous_stage_label_values; empty otherwise): the previous stage's
  // segmentation becomes one channel per value appended to data, augmented with `cascade`.
  std::vector<int> previous_stage_values;
  CascadeAugmentationOptions cascade = no_cascade_augmentation();
};

// Training batches of a configuration: the plan's batch and patch size, the reference's
// augmentation and sampled region, 33% foreground oversampling, masking for the channels with
// use_mask_for_norm, and deep-supervision targets from the plan's strides when asked.
BatchOptions training_batch_options(const ConfigurationPlan& configuration,
                                    const AugmentationSettings& settings, bool deep_supervision,
                                    std::optional<int> ignore_label = std::nullopt);

// Validation batches (the reference's validation loader): the same sampling with the final
// patch size, no augmentation, no masking.
BatchOptions validation_batch_options(const ConfigurationPlan& configuration, bool deep_supervision,
                                      std::optional<int> ignore_label = std::nullopt);

// Throws Error naming the problem (batch size < 1, sampler options, a mask channel or mirror
// axis that does not exist).
void validate_batch_options(const BatchOptions& options);

// Random cases (with replacement), each cut at the sampler's region; CPU tensors, not finished.
Batch sample_batch(const CaseSource& source, const BatchOptions& options, uint64_t seed,
                   int64_t index);

// Augmentation down to the final patch, masking, -1 -> 0 (background), the previous stage's
// one-hot channels and their augmentation (cascade), and the targets, on the batch's device.
// Error if the batch is already finished, or if a cascade batch lacks the previous stage.
void finish_batch(Batch& batch, const BatchOptions& options);

// sample_batch + finish_batch on the CPU: what loader workers make.
Batch make_batch(const CaseSource& source, const BatchOptions& options, uint64_t seed,
                 int64_t index);

}  // namespace medseg
