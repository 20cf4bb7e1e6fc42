// The U-Net's basic unit, conv -> instance norm -> LeakyReLU (the reference's
// ConvDropoutNormReLU without dropout), and a stack of them whose first conv carries the
// stage's stride (StackedConvBlocks).
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "medseg/nn/conv.h"

namespace medseg {

struct ConvNormActOptions {
  ConvNormActOptions(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel_size);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(std::vector<int64_t>, kernel_size);  // per spatial axis; padding = kernel / 2
  TORCH_ARG(std::vector<int64_t>, stride) = {};  // empty: 1 on every axis
  TORCH_ARG(bool, bias) = true;                  // conv bias
  TORCH_ARG(double, norm_eps) = 1e-5;
  TORCH_ARG(bool, activation) = true;        // false: conv -> norm only
  TORCH_ARG(double, negative_slope) = 1e-2;  // LeakyReLU slope
};

class ConvNormActImpl : public torch::nn::Module {
 public:
  explicit ConvNormActImpl(const ConvNormActOptions& options);
  at::Tensor forward(const at::Tensor& x);
  // forward(cat({a, b}, 1)) without the concatenation, inference only (Conv::forward_split).
  at::Tensor forward_split(at::Tensor a, at::Tensor b);

  Conv conv{nullptr};
  InstanceNorm norm{nullptr};

 private:
  // The norm, then the activation unless options said none (channels-last: fused, in place).
  at::Tensor norm_and_activate(at::Tensor y);

  bool activation_;
  double negative_slope_;
};
TORCH_MODULE(ConvNormAct);

// num_convs blocks: the first maps `first.in_channels` to `first.out_channels` with
// `first.stride`; the others keep the channels with stride 1.
class StackedConvsImpl : public torch::nn::Module {
 public:
  StackedConvsImpl(int num_convs, const ConvNormActOptions& first);
  at::Tensor forward(at::Tensor x);
  // forward(cat({a, b}, 1)) without the concatenation, inference only (Conv::forward_split).
  at::Tensor forward_split(at::Tensor a, at::Tensor b);

 private:
  torch::nn::ModuleList convs_;
  std::vector<ConvNormAct> blocks_;
};
TORCH_MODULE(StackedConvs);

}  // namespace medseg
