#include "medseg/data/deep_supervision_targets.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/data/nearest_resize.h"

namespace medseg {

std::vector<std::vector<double>> target_scales_from_strides(
    const std::vector<std::vector<int>>& strides) {
  if (strides.size() < 2)
    throw Error("deep supervision targets",
                "need at least 2 stages of strides, got " + std::to_string(strides.size()));
  std::vector<double> cumulative(strides[0].size(), 1.0);
  std::vector<std::vector<double>> scales;
  for (std::size_t stage = 0; stage + 1 < strides.size(); ++stage) {
    if (strides[stage].size() != cumulative.size())
      throw Error("deep supervision targets", "stage " + std::to_string(stage) + " has " +
                                                  std::to_string(strides[stage].size()) +
                                                  " strides, stage 0 has " +
                                                  std::to_string(cumulative.size()));
    std::vector<double> scale;
    for (std::size_t axis = 0; axis < cumulative.size(); ++axis) {
      cumulative[axis] *= strides[stage][axis];
      scale.push_back(1.0 / cumulative[axis]);
    }
    scales.push_back(scale);
  }
  return scales;
}

std::vector<at::Tensor> downsample_label_batch(const at::Tensor& labels,
                                               const std::vector<std::vector<double>>& scales) {
  std::vector<at::Tensor> out;
  for (const auto& scale : scales) {
    if (labels.dim() != static_cast<int64_t>(scale.size()) + 2)
      throw Error("deep supervision targets",
                  "labels with " + std::to_string(labels.dim()) + " axes do not fit a scale of " +
                      std::to_string(scale.size()) + " spatial axes");
    std::vector<int64_t> size;
    for (std::size_t d = 0; d < scale.size(); ++d)
      // std::nearbyint rounds half to even, as Python's round() in the reference.
      size.push_back(std::max<int64_t>(
          1, static_cast<int64_t>(std::nearbyint(labels.size(d + 2) * scale[d]))));
    out.push_back(resize_nearest_exact(labels, size));
  }
  return out;
}

}  // namespace medseg
