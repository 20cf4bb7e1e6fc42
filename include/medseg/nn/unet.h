// The dynamic U-Net of nnU-Net (PlainConvUNet or ResidualEncoderUNet, as the plan's
// architecture.network says), built from the typed plan and initialised as the reference
// (He normal; residual blocks' last norm zeroed).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "medseg/nn/decoder.h"
#include "medseg/nn/encoder.h"
#include "medseg/nn/unet_options.h"

namespace medseg {

class UNetImpl : public torch::nn::Module {
 public:
  // Validates the options (Error naming the problem) and initialises the weights.
  explicit UNetImpl(UNetOptions options);

  // x: (batch, in_channels, spatial...), each spatial size divisible by the product of the
  // strides on its axis (Error otherwise). Returns logits highest resolution first: one per
  // decoder stage (n_stages - 1) with deep supervision, else one at the input's resolution.
  std::vector<at::Tensor> forward(const at::Tensor& x);

  // Training uses deep supervision, prediction does not; the weights are the same.
  void set_deep_supervision(bool on);
  const UNetOptions& options() const { return options_; }

  // The product of the strides per axis: the divisor every input size must have.
  std::vector<int64_t> total_stride() const;

 private:
  void check_input(const at::Tensor& x) const;

  UNetOptions options_;
  std::shared_ptr<EncoderImpl> encoder_;
  UNetDecoder decoder_{nullptr};
};
TORCH_MODULE(UNet);

// The network for one planned configuration (errors name the configuration).
UNet make_unet(const ConfigurationPlan& configuration, int64_t in_channels, int64_t num_classes,
               bool deep_supervision = true);

}  // namespace medseg
