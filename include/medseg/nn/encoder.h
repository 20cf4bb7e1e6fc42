// The U-Net's two encoders, built from a validated UNetOptions. Both return the output of
// every stage, highest resolution first (the bottleneck last): the decoder's skips.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "medseg/nn/conv_block.h"
#include "medseg/nn/residual_block.h"
#include "medseg/nn/unet_options.h"

namespace medseg {

class EncoderImpl : public torch::nn::Module {
 public:
  virtual std::vector<at::Tensor> forward(const at::Tensor& x) = 0;
};

// PlainConvEncoder: per stage n_conv_per_stage[s] conv-norm-act blocks, the first strided.
class PlainConvEncoderImpl : public EncoderImpl {
 public:
  explicit PlainConvEncoderImpl(const UNetOptions& options);
  std::vector<at::Tensor> forward(const at::Tensor& x) override;

 private:
  torch::nn::ModuleList stages_list_;
  std::vector<StackedConvs> stages_;
};

// ResidualEncoder: a stem conv-norm-act (stride 1, features_per_stage[0]) followed by
// n_conv_per_stage[s] basic blocks per stage, the first strided.
class ResidualEncoderImpl : public EncoderImpl {
 public:
  explicit ResidualEncoderImpl(const UNetOptions& options);
  std::vector<at::Tensor> forward(const at::Tensor& x) override;

 private:
  StackedConvs stem_{nullptr};
  torch::nn::ModuleList stages_list_;
  std::vector<StackedResidualBlocks> stages_;
};

}  // namespace medseg
