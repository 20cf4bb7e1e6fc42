// The dynamic U-Net of nnU-Net (PlainConvUNet or ResidualEncoderUNet, as the plan's
// architecture.network says), built from the typed plan and initialised as the reference
// (He normal; residual blocks' last norm zeroed).
#pragma once

#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "medseg/nn/decoder.h"
#include "medseg/nn/encoder.h"
#include "medseg/nn/precision.h"
#include "medseg/nn/unet_options.h"

namespace medseg {

class UNetImpl : public torch::nn::Module {
 public:
  // Validates the options (Error naming the problem) and initialises the weights.
  explicit UNetImpl(UNetOptions options);

  // x: (batch, in_channels, spatial...), each spatial size divisible by the product of the
  // strides on its axis (Error otherwise). Returns logits highest resolution first: one per
  // decoder stage (n_stages - 1) with deep supervision, else one at the input's resolution.
  // The input is cast to the compute dtype; with bfloat16 the logits are cast back to float32
  // (with float32 they are what the layers make them, e.g. bf16 under CUDA autocast).
  std::vector<at::Tensor> forward(const at::Tensor& x);

  // The dtype the layers compute in (float32 by default; bfloat16 for nn/precision.h's
  // kBFloat16): parameters stay float32 and are cast on use, so optimizer, checkpoints and
  // gradients are unchanged.
  void set_compute_dtype(c10::ScalarType dtype);
  c10::ScalarType compute_dtype() const { return compute_dtype_; }

  // Training uses deep supervision, prediction does not; the weights are the same.
  void set_deep_supervision(bool on);
  const UNetOptions& options() const { return options_; }

  // The product of the strides per axis: the divisor every input size must have.
  std::vector<int64_t> total_stride() const;

  // Inference on CPU in channels-last layout (nn/channels_last.h) where the build can and the
  // network is a plain-encoder U-Net; on by default, off for comparisons.
  void set_channels_last_inference(bool on) { channels_last_inference_ = on; }
  bool uses_channels_last(const at::Tensor& x) const;

  // From how many bytes of full-resolution concatenation inference convolves its two halves
  // separately (UNetDecoderImpl::split_concatenation_bytes; tests set it to 0).
  void set_split_concatenation_bytes(int64_t bytes) { decoder_->split_concatenation_bytes = bytes; }

 private:
  void check_input(const at::Tensor& x) const;

  UNetOptions options_;
  c10::ScalarType compute_dtype_ = c10::ScalarType::Float;
  bool channels_last_inference_ = true;
  std::shared_ptr<EncoderImpl> encoder_;
  UNetDecoder decoder_{nullptr};
};
TORCH_MODULE(UNet);

// The network for one planned configuration (errors name the configuration).
UNet make_unet(const ConfigurationPlan& configuration, int64_t in_channels, int64_t num_classes,
               bool deep_supervision = true);

// Sets the network's compute dtype for a resolved precision (kAuto is an error here).
void set_precision(UNetImpl& network, Precision precision);

}  // namespace medseg
