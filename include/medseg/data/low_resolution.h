// Low-resolution simulation (the reference's SimulateLowResolutionTransform): a channel is
// shrunk by a random zoom with nearest-neighbour ('nearest-exact') and brought back to its size
// with linear interpolation (trilinear in 3D, bilinear in 2D), as batchgeneratorsv2 does (v1
// used cubic splines).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "medseg/data/random.h"

namespace medseg {

// SimulateLowResolutionTransform(zoom_range=(0.5, 1), per_channel=True, p_per_channel=0.5,
// p_per_sample=0.25, ignore_axes): one zoom per chosen channel, the same on every axis.
struct LowResolutionOptions {
  double probability = 0.25;
  double p_per_channel = 0.5;
  double zoom_min = 0.5;
  double zoom_max = 1.0;
  std::vector<int64_t> ignore_axes;  // spatial axes kept at full resolution (axis 0 for
                                     // anisotropic 3D data)
};

// data: float (batch, channels, spatial...), changed in place; rngs: one per sample.
void simulate_low_resolution(at::Tensor& data, const LowResolutionOptions& options,
                             std::vector<Rng>& rngs);

}  // namespace medseg
