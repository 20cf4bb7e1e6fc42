// Region-based training (dataset.json labels declared as lists): an integer label map becomes
// one binary channel per region (the reference's ConvertSegmentationToRegionsTransform).
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

namespace medseg {

// labels: integer (B, 1, spatial...). Returns bool (B, R, spatial...) where channel r is set
// for voxels whose label is one of regions[r]; with ignore_label, one more channel last that
// marks the ignored voxels (the layout dice_bce_loss expects). Throws Error for a label map
// without its channel axis, no regions, or an empty region.
at::Tensor labels_to_regions(const at::Tensor& labels, const std::vector<std::vector<int>>& regions,
                             std::optional<int> ignore_label = std::nullopt);

}  // namespace medseg
