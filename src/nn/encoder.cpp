#include "medseg/nn/encoder.h"

#include <torch/torch.h>

namespace medseg {

PlainConvEncoderImpl::PlainConvEncoderImpl(const UNetOptions& options) {
  const ArchitecturePlan& a = options.architecture;
  stages_list_ = register_module("stages", torch::nn::ModuleList());
  int64_t channels = options.in_channels;
  for (int s = 0; s < a.n_stages; ++s) {
    stages_.emplace_back(a.n_conv_per_stage[s], stage_conv_options(a, s, channels));
    stages_list_->push_back(stages_.back());
    channels = a.features_per_stage[s];
  }
}

std::vector<at::Tensor> PlainConvEncoderImpl::forward(const at::Tensor& x) {
  std::vector<at::Tensor> skips;
  at::Tensor h = x;
  for (auto& stage : stages_) {
    h = stage(h);
    skips.push_back(h);
  }
  return skips;
}

ResidualEncoderImpl::ResidualEncoderImpl(const UNetOptions& options) {
  const ArchitecturePlan& a = options.architecture;
  ConvNormActOptions stem = stage_conv_options(a, 0, options.in_channels);
  stem.stride({});  // the reference's stem never strides
  stem_ = register_module("stem", StackedConvs(1, stem));
  stages_list_ = register_module("stages", torch::nn::ModuleList());
  int64_t channels = a.features_per_stage[0];
  for (int s = 0; s < a.n_stages; ++s) {
    stages_.emplace_back(a.n_conv_per_stage[s], stage_conv_options(a, s, channels));
    stages_list_->push_back(stages_.back());
    channels = a.features_per_stage[s];
  }
}

std::vector<at::Tensor> ResidualEncoderImpl::forward(const at::Tensor& x) {
  std::vector<at::Tensor> skips;
  at::Tensor h = stem_(x);
  for (auto& stage : stages_) {
    h = stage(h);
    skips.push_back(h);
  }
  return skips;
}

}  // namespace medseg
