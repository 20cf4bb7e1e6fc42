// The reference's patch sampler (nnUNetDataLoader): per sample a random case and a region of
// `sampled_size` (larger than the final patch when rotation/scaling need room), the last third
// of each batch centred on a stored foreground voxel of a random present class, the rest placed
// uniformly. Where the region leaves the volume the image is padded with 0 and labels with -1.
//
// Labels the loss sees: -1 (outside the body's nonzero mask, and padding) is kept through the
// augmentation so masked normalization can zero the image there, then becomes background 0
// (finish_batch, as the reference's RemoveLabelTransform(-1, 0)); it never reaches the loss.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "medseg/data/random.h"
#include "medseg/data/training_case.h"

namespace medseg {

struct PatchSamplerOptions {
  std::vector<int64_t> patch_size;      // final patch (the plan's), 2 or 3 axes
  std::vector<int64_t> sampled_size;    // region cut from the case, >= patch_size per axis
  double oversample_foreground = 0.33;  // fraction of each batch forced onto foreground
  std::optional<int> ignore_label;      // never chosen as the foreground class
};

// The reference's rule: sample i of a batch is forced onto foreground when
// i >= round(batch_size * (1 - percent)) (round half to even, as Python). With 0.33 and a
// batch of at least 2 the last sample always is; a batch of 1 never is, as in the reference.
bool is_forced_foreground(int64_t sample, int64_t batch_size, double percent);

// Lower corner (may be negative or reach past the volume) of a region of `size` in a volume of
// `shape`, as the reference's get_bbox: uniform over the positions that keep at least the
// final patch's margin, or, with `center`, centred on that voxel (lower bound clipped).
std::vector<int64_t> region_start(const std::vector<int64_t>& shape,
                                  const std::vector<int64_t>& size,
                                  const std::vector<int64_t>& patch_size,
                                  const std::optional<std::vector<int64_t>>& center, Rng& rng);

struct Patch {
  at::Tensor data;  // float (channels, size...)
  at::Tensor seg;   // int16 (1, size...), or (2, size...) with the previous stage's as channel 1
};

// The region [start, start + size) of a case (2 or 3 spatial axes matching start), padded with
// 0 (image) and -1 (labels, every channel of seg) where it leaves the volume.
Patch crop_padded(const at::Tensor& data, const at::Tensor& seg, const std::vector<int64_t>& start,
                  const std::vector<int64_t>& size);

// One sampled region of a case. Forced: centred on a random stored voxel of a random present
// class; without one, as not forced. Not forced: centred on a random annotated voxel when the
// case lists them (ignore-label datasets), else placed uniformly. A 2D patch from a 3D case
// takes one slice of the first axis: the centre voxel's slice and in-plane position (the
// reference picks the slice from the class but the in-plane centre from any of its voxels),
// or a uniform slice. A cascade case's previous-stage segmentation becomes seg's channel 1.
Patch sample_patch(const TrainingCase& training_case, const PatchSamplerOptions& options,
                   bool force_foreground, Rng& rng);

// Throws Error naming the problem: sizes of different lengths, sampled < patch, not 2 or 3
// axes, oversampling outside [0, 1].
void validate_sampler_options(const PatchSamplerOptions& options);

}  // namespace medseg
