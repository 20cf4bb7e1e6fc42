#include "medseg/loss/regions.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/loss/tensor_checks.h"

namespace medseg {

at::Tensor labels_to_regions(const at::Tensor& labels, const std::vector<std::vector<int>>& regions,
                             std::optional<int> ignore_label) {
  if (labels.dim() < 3 || labels.size(1) != 1)
    throw Error("labels_to_regions", "label map of shape " + shape_text(labels.sizes()) +
                                         " must be (batch, 1, spatial...)");
  if (labels.is_floating_point())
    throw Error("labels_to_regions", "label map must hold integers, not " +
                                         std::string(c10::toString(labels.scalar_type())));
  if (regions.empty()) throw Error("labels_to_regions", "no regions given");
  std::vector<at::Tensor> channels;
  for (size_t r = 0; r < regions.size(); ++r) {
    if (regions[r].empty())
      throw Error("labels_to_regions", "region " + std::to_string(r) + " has no label values");
    const std::vector<int64_t> values(regions[r].begin(), regions[r].end());
    channels.push_back(at::isin(labels, torch::tensor(values, labels.options().dtype(at::kLong))));
  }
  if (ignore_label) channels.push_back(labels == *ignore_label);
  return at::cat(channels, 1);
}

}  // namespace medseg
