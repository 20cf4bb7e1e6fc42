// The U-Net decoder shared by both encoders (the reference's UNetDecoder): per stage, from
// the bottleneck up, a transposed conv (kernel = stride) to the skip's resolution and
// channels, concatenation with the skip, n_conv_per_stage_decoder conv-norm-act blocks, and
// a 1x1 segmentation head.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "medseg/nn/conv.h"
#include "medseg/nn/conv_block.h"
#include "medseg/nn/unet_options.h"

namespace medseg {

class UNetDecoderImpl : public torch::nn::Module {
 public:
  explicit UNetDecoderImpl(const UNetOptions& options);

  // skips: the encoder's outputs, bottleneck last. Returns the segmentation outputs highest
  // resolution first: one per decoder stage with deep supervision, else only the highest.
  std::vector<at::Tensor> forward(std::vector<at::Tensor> skips);

  bool deep_supervision = true;
  // In inference, the full-resolution stage convolves the upsampled tensor and the skip
  // connection separately and sums (Conv::forward_split) once their concatenation would take
  // this many bytes: there the concatenation and oneDNN's blocked copy of it are the largest
  // allocations of a large tile's pass (docs/performance.md, issue 27). Smaller tiles keep the
  // single convolution; training always does (autograd saves both halves either way).
  int64_t split_concatenation_bytes = int64_t{64} << 20;

 private:
  bool splits_concatenation(const at::Tensor& below, const at::Tensor& skip,
                            bool full_resolution) const;

  torch::nn::ModuleList transpconvs_list_, stages_list_, seg_layers_list_;
  std::vector<Conv> transpconvs_;
  std::vector<StackedConvs> stages_;
  std::vector<Conv> seg_layers_;  // always built, so weights load with and without DS
};
TORCH_MODULE(UNetDecoder);

}  // namespace medseg
