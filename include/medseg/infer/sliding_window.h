// Sliding-window prediction of one preprocessed case: tiles at the configured step, each
// (optionally mirrored) through every network, weighted with the Gaussian importance map and
// accumulated into one logit sum and one weight sum of the volume's size; the result is the
// weighted average over tiles, mirrorings and networks (the fold ensemble).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "medseg/infer/logits_function.h"

namespace medseg {

// How tile predictions are summed. float32: medseg's default, the Gaussian map and the sums in
// float32. float16: as the shipped nnUNetv2_predict does, to match its labels bit for bit at
// the cost of precision (its map scaled to 10 and rounded to float16, each tile's mirrored mean
// times the map added into float16 sums, divided in float16 per network, the fold ensemble
// summed and averaged in float16): weights near a tile's edge underflow, so probabilities move
// by up to ~0.1 near the volume's border, as the reference's do.
enum class Accumulation { kFloat32, kFloat16 };

// "float32" or "float16" (UsageError naming `what` otherwise).
Accumulation parse_accumulation(const std::string& text, const std::string& what);

struct SlidingWindowOptions {
  std::vector<int64_t> patch_size;  // 3 axes, or 2 for a 2D configuration (slice by slice)
  double step_size = 0.5;           // fraction of the patch between tile starts, (0, 1]
  bool mirroring = true;            // test-time mirroring over every patch axis
  // With mirroring: only these patch axes (ascending, each < the patch's axes); unset: every one.
  std::optional<std::vector<int64_t>> mirror_axes;
  Accumulation accumulation = Accumulation::kFloat32;
  int64_t tile_batch = 1;          // tiles per network call
  int64_t mirror_group = 0;        // mirrored copies per call (predict_mirrored_sum); 0: automatic
  c10::Device device = c10::kCPU;  // where the networks run; accumulators too when they fit
  // Not empty: progress over the tile passes (tiles x mirrored copies x networks) under this
  // label, shown once the volume has taken a few seconds (core/progress.h).
  std::string progress_label;
};

// Per-voxel uncertainty (qa/uncertainty.h) on the returned logits' grid: float32 (z, y, x).
struct SlidingWindowUncertainty {
  at::Tensor entropy;             // of the averaged probabilities, normalised to [0, 1]
  at::Tensor mutual_information;  // entropy minus the members' mean entropy, >= 0
};

// data: (channels, z, y, x) float32 (on the CPU). Volumes smaller than the patch are padded with
// 0 and cropped back. Returns float32 logits (outputs, z, y, x) on the CPU. Memory: the input,
// one float32 logit sum (outputs x volume) and one weight sum (volume) for all networks
// together. On CUDA, the accumulators fall back to the CPU when the GPU cannot hold them.
at::Tensor predict_sliding_window(const at::Tensor& data,
                                  const std::vector<LogitsFunction>& networks,
                                  const SlidingWindowOptions& options);
// The same, and the uncertainty maps into `uncertainty`: every member (network x mirrored copy,
// each tile) also goes through the softmax (sigmoid with `regions`) into a probability sum and
// a member-entropy sum, weighted as the logits: memory for outputs + 1 more volumes.
at::Tensor predict_sliding_window(const at::Tensor& data,
                                  const std::vector<LogitsFunction>& networks,
                                  const SlidingWindowOptions& options, bool regions,
                                  SlidingWindowUncertainty& uncertainty);

}  // namespace medseg
