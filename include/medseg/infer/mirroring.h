// Test-time mirroring (the reference's _internal_maybe_mirror_and_predict): the network sees
// the tile and every mirrored copy of it (2^k inputs for k axes), each output is flipped
// back, and the logits are summed (the caller divides by the count).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "medseg/infer/logits_function.h"

namespace medseg {

// Every non-empty subset of `axes`, smallest subsets first, each in ascending order (the
// order of itertools.combinations): {0,1} -> {0}, {1}, {0,1}.
std::vector<std::vector<int64_t>> mirror_axis_combinations(const std::vector<int64_t>& axes);

// Number of network passes per tile: 2^axes.size().
int64_t mirror_pass_count(const std::vector<int64_t>& axes);

// Sum over the identity and every mirror combination of flip(net(flip(batch, a)), a).
// `spatial_axes` count from the first spatial axis of batch (batch, channels, spatial...).
// `group`: how many of the 2^k inputs go through the network together, concatenated along the
// batch axis (larger calls run at a higher GFLOP/s on the CPU, for more memory); 1: one by one.
// each_member (when set) sees every flipped-back output before it is summed: the members whose
// disagreement the uncertainty maps measure (qa/uncertainty.h).
using MirrorMemberFunction = std::function<void(const at::Tensor& member_logits)>;
at::Tensor predict_mirrored_sum(const LogitsFunction& network, const at::Tensor& batch,
                                const std::vector<int64_t>& spatial_axes, int64_t group = 1,
                                const MirrorMemberFunction& each_member = {});

// The group predict_sliding_window uses when asked for 0 (automatic): kMirrorGroupMax mirrored
// inputs of a tile batch in one call while the call holds at most kMirrorGroupVoxels input
// voxels. In float32 on 2 cores two copies of a Hippocampus tile per call take a mirrored case
// from 2.06 s (one by one) to 1.26 s, all eight only to 1.21 s for 2.6x the memory.
inline constexpr int64_t kMirrorGroupVoxels = int64_t{1} << 20;
inline constexpr int64_t kMirrorGroupMax = 2;
int64_t automatic_mirror_group(int64_t voxels_per_call, int64_t passes);

}  // namespace medseg
