// Mirroring (the reference's MirrorTransform): each allowed spatial axis of a sample is flipped
// with probability 1/2, image and labels together.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "medseg/data/random.h"

namespace medseg {

struct MirrorOptions {
  std::vector<int64_t> axes{0, 1, 2};  // spatial axes (0 = first after the channel axis)
  double p_per_axis = 0.5;
};

// data (batch, channels, spatial...) and seg (batch, 1, spatial...) flipped in place, per
// sample; rngs: one per sample.
void mirror(at::Tensor& data, at::Tensor& seg, const MirrorOptions& options,
            std::vector<Rng>& rngs);

}  // namespace medseg
