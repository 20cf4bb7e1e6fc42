// ResNet-D basic block of the residual-encoder U-Net (the reference's BasicBlockD): two
// conv-norm layers (the first strided), and a skip path of average pooling (when strided)
// followed by a 1x1 conv + norm (when the channels change); LeakyReLU after the sum.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "medseg/nn/conv_block.h"

namespace medseg {

class BasicBlockImpl : public torch::nn::Module {
 public:
  // `options` describes the first conv (channels, kernel, stride, bias, norm, slope).
  explicit BasicBlockImpl(const ConvNormActOptions& options);
  at::Tensor forward(const at::Tensor& x);

  ConvNormAct conv1{nullptr};
  ConvNormAct conv2{nullptr};            // no activation: the sum is activated
  ConvNormAct skip_projection{nullptr};  // null when in == out channels

 private:
  std::vector<int64_t> pool_;  // empty when not strided
  double negative_slope_;
};
TORCH_MODULE(BasicBlock);

// num_blocks basic blocks; the first carries the stride and the channel change.
class StackedResidualBlocksImpl : public torch::nn::Module {
 public:
  StackedResidualBlocksImpl(int num_blocks, const ConvNormActOptions& first);
  at::Tensor forward(at::Tensor x);

 private:
  torch::nn::ModuleList blocks_list_;
  std::vector<BasicBlock> blocks_;
};
TORCH_MODULE(StackedResidualBlocks);

}  // namespace medseg
