// Test-time mirroring (the reference's _internal_maybe_mirror_and_predict): the network sees
// the tile and every mirrored copy of it (2^k inputs for k axes), each output is flipped
// back, and the logits are summed (the caller divides by the count).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
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
at::Tensor predict_mirrored_sum(const LogitsFunction& network, const at::Tensor& batch,
                                const std::vector<int64_t>& spatial_axes);

}  // namespace medseg
