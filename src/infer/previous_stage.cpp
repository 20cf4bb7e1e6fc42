#include "medseg/infer/previous_stage.h"

#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {

std::vector<int> previous_stage_label_values(const DatasetInfo& dataset) {
  std::vector<int> values;
  for (int v : dataset.allowed_label_values())
    if (v != 0 && !(dataset.ignore_label && v == *dataset.ignore_label)) values.push_back(v);
  return values;
}

int64_t network_input_channels(const ConfigurationPlan& configuration, const DatasetInfo& dataset) {
  int64_t channels = dataset.num_channels();
  if (configuration.previous_stage) channels += static_cast<int64_t>(previous_stage_label_values(dataset).size());
  return channels;
}

at::Tensor append_previous_stage(const at::Tensor& data, const at::Tensor& segmentation,
                                 const std::vector<int>& values) {
  const at::Tensor seg = segmentation.dim() == data.dim() ? segmentation[0] : segmentation;
  if (!seg.sizes().equals(data.sizes().slice(1)))
    throw Error("previous stage", "the segmentation's shape does not match the image's");
  std::vector<at::Tensor> channels{data};
  for (int v : values) channels.push_back(seg.eq(v).to(torch::kFloat).unsqueeze(0));
  return torch::cat(channels, 0);
}

}  // namespace medseg
