#include "medseg/nn/unet.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/nn/channels_last.h"
#include "medseg/nn/weight_init.h"

namespace medseg {
namespace {

std::string shape_text(c10::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

UNetImpl::UNetImpl(UNetOptions options) : options_(std::move(options)) {
  validate_unet_options(options_);
  if (options_.architecture.network == "ResidualEncoderUNet")
    encoder_ = register_module("encoder", std::make_shared<ResidualEncoderImpl>(options_));
  else
    encoder_ = register_module("encoder", std::make_shared<PlainConvEncoderImpl>(options_));
  decoder_ = register_module("decoder", UNetDecoder(options_));
  init_weights_he(*this, 1e-2);
  if (options_.architecture.network == "ResidualEncoderUNet")
    zero_last_norm_of_residual_blocks(*this);
}

std::vector<at::Tensor> UNetImpl::forward(const at::Tensor& x) {
  check_input(x);
  const at::Tensor in = x.scalar_type() == compute_dtype_ ? x : x.to(compute_dtype_);
  if (uses_channels_last(in)) {
    channels_last::ChannelsLastScope scope;
    std::vector<at::Tensor> logits =
        decoder_(encoder_->forward(in.contiguous(channels_last::memory_format(in.dim()))));
    for (at::Tensor& l : logits)  // float32 and NCDHW in one pass
      l = at::empty(l.sizes(), l.options().dtype(at::kFloat)).copy_(l);
    return logits;
  }
  std::vector<at::Tensor> logits = decoder_(encoder_->forward(in));
  if (compute_dtype_ != at::kFloat)
    for (at::Tensor& l : logits) l = l.to(at::kFloat);
  return logits;
}

bool UNetImpl::uses_channels_last(const at::Tensor& x) const {
  // oneDNN computes bfloat16 only on CPUs that have it (AVX-512 BF16 or AMX).
  const bool dtype_runs =
      compute_dtype_ == at::kFloat || (compute_dtype_ == at::kBFloat16 && cpu_has_native_bf16());
  return channels_last_inference_ && channels_last::available() && !at::GradMode::is_enabled() &&
         x.is_cpu() && (x.dim() == 4 || x.dim() == 5) && dtype_runs &&
         options_.architecture.network != "ResidualEncoderUNet";
}

void UNetImpl::set_compute_dtype(c10::ScalarType dtype) {
  if (dtype != at::kFloat && dtype != at::kBFloat16)
    throw Error("U-Net", std::string("cannot compute in ") + c10::toString(dtype) +
                             " (float32 or bfloat16)");
  compute_dtype_ = dtype;
}

void UNetImpl::set_deep_supervision(bool on) {
  options_.deep_supervision = on;
  decoder_->deep_supervision = on;
}

std::vector<int64_t> UNetImpl::total_stride() const {
  const ArchitecturePlan& a = options_.architecture;
  std::vector<int64_t> total(spatial_dims(a), 1);
  for (const auto& stride : a.strides)
    for (size_t axis = 0; axis < total.size(); ++axis) total[axis] *= stride[axis];
  return total;
}

void UNetImpl::check_input(const at::Tensor& x) const {
  const int64_t dims = spatial_dims(options_.architecture);
  if (x.dim() != dims + 2 || x.size(1) != options_.in_channels)
    throw Error("U-Net", "input of shape " + shape_text(x.sizes()) + " does not match (batch, " +
                             std::to_string(options_.in_channels) + " channels, " +
                             std::to_string(dims) + " spatial axes)");
  const std::vector<int64_t> total = total_stride();
  for (int64_t axis = 0; axis < dims; ++axis)
    if (x.size(axis + 2) % total[axis] != 0)
      throw Error("U-Net", "input of shape " + shape_text(x.sizes()) +
                               ": spatial sizes must be divisible by the total stride " +
                               shape_text(total));
}

UNet make_unet(const ConfigurationPlan& configuration, int64_t in_channels, int64_t num_classes,
               bool deep_supervision) {
  return UNet(unet_options(configuration, in_channels, num_classes, deep_supervision));
}

void set_precision(UNetImpl& network, Precision precision) {
  if (precision == Precision::kAuto)
    throw Error("U-Net", "set_precision needs a resolved precision (fp32 or bf16), not auto");
  network.set_compute_dtype(precision == Precision::kBFloat16 ? at::kBFloat16 : at::kFloat);
}

}  // namespace medseg
