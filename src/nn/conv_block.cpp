#include "medseg/nn/conv_block.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/nn/channels_last.h"

namespace medseg {

ConvNormActOptions::ConvNormActOptions(int64_t in_channels, int64_t out_channels,
                                       std::vector<int64_t> kernel_size)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(std::move(kernel_size)) {}

ConvNormActImpl::ConvNormActImpl(const ConvNormActOptions& options)
    : activation_(options.activation()), negative_slope_(options.negative_slope()) {
  conv = register_module(
      "conv", Conv(ConvOptions(options.in_channels(), options.out_channels(), options.kernel_size())
                       .stride(options.stride())
                       .bias(options.bias())));
  norm = register_module("norm", InstanceNorm(options.out_channels(), options.norm_eps()));
}

at::Tensor ConvNormActImpl::forward(const at::Tensor& x) {
  return norm_and_activate(conv(x));
}

at::Tensor ConvNormActImpl::forward_split(at::Tensor a, at::Tensor b) {
  return norm_and_activate(conv->forward_split(std::move(a), std::move(b)));
}

at::Tensor ConvNormActImpl::norm_and_activate(at::Tensor y) {
  if (channels_last::active()) {  // one in-place kernel for both
    channels_last::instance_norm_(y, norm->weight, norm->bias, norm->eps(), activation_,
                                  negative_slope_);
    return y;
  }
  y = norm(y);
  // In place, as the reference (inplace=True): the norm's backward does not need its output.
  if (activation_) at::leaky_relu_(y, negative_slope_);
  return y;
}

StackedConvsImpl::StackedConvsImpl(int num_convs, const ConvNormActOptions& first) {
  if (num_convs < 1)
    throw Error("StackedConvs", "needs at least one convolution, got " + std::to_string(num_convs));
  convs_ = register_module("convs", torch::nn::ModuleList());
  ConvNormActOptions options = first;
  for (int i = 0; i < num_convs; ++i) {
    blocks_.emplace_back(options);
    convs_->push_back(blocks_.back());
    options.in_channels(first.out_channels()).stride({});
  }
}

at::Tensor StackedConvsImpl::forward(at::Tensor x) {
  for (auto& block : blocks_) x = block(x);
  return x;
}

at::Tensor StackedConvsImpl::forward_split(at::Tensor a, at::Tensor b) {
  at::Tensor x = blocks_.front()->forward_split(std::move(a), std::move(b));
  for (size_t i = 1; i < blocks_.size(); ++i) x = blocks_[i](x);
  return x;
}

}  // namespace medseg
