#include "medseg/data/mirror_transform.h"

#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {

void mirror(at::Tensor& data, at::Tensor& seg, const MirrorOptions& o, std::vector<Rng>& rngs) {
  const int64_t dims = data.dim() - 2;
  for (const int64_t axis : o.axes)
    if (axis < 0 || axis >= dims)
      throw Error("mirroring", "axis " + std::to_string(axis) + " does not exist in a patch of " +
                                   std::to_string(dims) + " spatial axes");
  for (int64_t b = 0; b < data.size(0); ++b) {
    std::vector<int64_t> flip;
    for (const int64_t axis : o.axes)
      if (chance(rngs[b], o.p_per_axis)) flip.push_back(axis + 1);  // axes of one sample
    if (flip.empty()) continue;
    data[b].copy_(data[b].flip(flip));
    seg[b].copy_(seg[b].flip(flip));
  }
}

}  // namespace medseg
