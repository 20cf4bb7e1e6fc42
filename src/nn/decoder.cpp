#include "medseg/nn/decoder.h"

#include <torch/torch.h>

#include <algorithm>

#include "medseg/nn/channels_last.h"

namespace medseg {

UNetDecoderImpl::UNetDecoderImpl(const UNetOptions& options)
    : deep_supervision(options.deep_supervision) {
  const ArchitecturePlan& a = options.architecture;
  transpconvs_list_ = register_module("transpconvs", torch::nn::ModuleList());
  stages_list_ = register_module("stages", torch::nn::ModuleList());
  seg_layers_list_ = register_module("seg_layers", torch::nn::ModuleList());
  const int n = a.n_stages;
  const std::vector<int64_t> unit(spatial_dims(a), 1);
  for (int s = 1; s < n; ++s) {
    const int64_t below = a.features_per_stage[n - s];
    const int64_t skip = a.features_per_stage[n - s - 1];
    const std::vector<int64_t> stride = stride_of_stage(a, n - s);
    transpconvs_.emplace_back(
        ConvOptions(below, skip, stride).stride(stride).bias(a.conv_bias).transposed(true));
    transpconvs_list_->push_back(transpconvs_.back());

    ConvNormActOptions conv = stage_conv_options(a, n - s - 1, 2 * skip);
    conv.stride({});
    stages_.emplace_back(a.n_conv_per_stage_decoder[s - 1], conv);
    stages_list_->push_back(stages_.back());

    seg_layers_.emplace_back(ConvOptions(skip, options.num_classes, unit).bias(true));
    seg_layers_list_->push_back(seg_layers_.back());
  }
}

bool UNetDecoderImpl::splits_concatenation(const at::Tensor& below, const at::Tensor& skip,
                                           bool full_resolution) const {
  // oneDNN's blocked copies are the reason: CPU only.
  if (!full_resolution || at::GradMode::is_enabled() || !skip.defined() || !skip.is_cpu())
    return false;
  return 2 * skip.numel() * skip.element_size() >= split_concatenation_bytes &&
         below.scalar_type() == skip.scalar_type();
}

std::vector<at::Tensor> UNetDecoderImpl::forward(std::vector<at::Tensor> skips) {
  const size_t n = stages_.size();
  at::Tensor x = std::move(skips.back());
  std::vector<at::Tensor> outputs;
  for (size_t s = 0; s < n; ++s) {
    // Each skip is let go once it is in the concatenation and each stage's input once the stage
    // has it: at full resolution one activation less held at the peak of a large tile.
    at::Tensor& skip = skips[skips.size() - s - 2];
    if (channels_last::active() || splits_concatenation(x, skip, s == n - 1)) {
      at::Tensor up = transpconvs_[s]->forward(x);
      x = at::Tensor();
      x = stages_[s]->forward_split(std::move(up), std::move(skip));
    } else {
      x = transpconvs_[s]->forward_concat(x, skip);
      skip = at::Tensor();
      x = stages_[s](std::move(x));
    }
    if (deep_supervision || s == n - 1) outputs.push_back(seg_layers_[s](x));
  }
  std::reverse(outputs.begin(), outputs.end());
  return outputs;
}

}  // namespace medseg
