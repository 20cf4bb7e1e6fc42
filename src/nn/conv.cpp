#include "medseg/nn/conv.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/nn/channels_last.h"
#include "medseg/nn/upsample_concat.h"

namespace medseg {

ConvOptions::ConvOptions(int64_t in_channels, int64_t out_channels,
                         std::vector<int64_t> kernel_size)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(std::move(kernel_size)) {}

ConvImpl::ConvImpl(ConvOptions options) : options_(std::move(options)) {
  const auto& kernel = options_.kernel_size();
  if (kernel.size() != 2 && kernel.size() != 3)
    throw Error("Conv", "kernel_size must have 2 or 3 axes, got " + std::to_string(kernel.size()));
  if (options_.stride().empty()) options_.stride(std::vector<int64_t>(kernel.size(), 1));
  if (options_.stride().size() != kernel.size())
    throw Error("Conv", "stride has " + std::to_string(options_.stride().size()) +
                            " axes but kernel_size has " + std::to_string(kernel.size()));
  for (const int64_t k : kernel) padding_.push_back(options_.transposed() ? 0 : (k - 1) / 2);

  std::vector<int64_t> shape =
      options_.transposed() ? std::vector<int64_t>{options_.in_channels(), options_.out_channels()}
                            : std::vector<int64_t>{options_.out_channels(), options_.in_channels()};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  weight = register_parameter("weight", torch::empty(shape));
  if (options_.bias()) bias = register_parameter("bias", torch::zeros({options_.out_channels()}));
  // Usable on its own; the U-Net re-applies the same He initialisation to every layer.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(weight, /*a=*/1e-2);
}

namespace {

// Parameters in the dtype of the activations (the network may run in bfloat16 while its
// parameters, and so the optimizer, stay float32; autograd casts the gradients back).
at::Tensor as_dtype_of(const at::Tensor& parameter, const at::Tensor& x) {
  if (!parameter.defined() || parameter.scalar_type() == x.scalar_type()) return parameter;
  return parameter.to(x.scalar_type());
}

}  // namespace

at::Tensor ConvImpl::forward(const at::Tensor& x) {
  if (channels_last::active()) {  // (the bias's dtype is channels_last's to choose)
    if (upsamples_as_matmul(x)) return channels_last::upsample(x, weight, bias);
    if (options_.transposed())
      throw Error("Conv",
                  "channels-last inference has no transposed convolution but an upsampling");
    return channels_last::convolution(x, as_dtype_of(weight, x), bias, options_.stride(), padding_);
  }
  const at::Tensor w = as_dtype_of(weight, x), b = as_dtype_of(bias, x);
  if (upsamples_as_matmul(x)) return upsample_concat(x, w, b, options_.kernel_size(), at::Tensor());
  const std::vector<int64_t> ones(padding_.size(), 1);
  const std::vector<int64_t> no_output_padding(padding_.size(), 0);
  return at::convolution(x, w, b, options_.stride(), padding_, /*dilation=*/ones,
                         options_.transposed(), no_output_padding, /*groups=*/1);
}

at::Tensor ConvImpl::forward_split(at::Tensor a, at::Tensor b) {
  if (options_.transposed() || at::GradMode::is_enabled())
    throw Error("Conv", "forward_split is for a convolution in inference (no gradient) only");
  const int64_t channels_a = a.size(1), channels_b = b.size(1);
  if (channels_a + channels_b != options_.in_channels())
    throw Error("Conv", "forward_split got " + std::to_string(channels_a) + " + " +
                            std::to_string(channels_b) + " channels for a convolution of " +
                            std::to_string(options_.in_channels()));
  const at::Tensor w = as_dtype_of(weight, a);
  if (channels_last::active()) {  // the second half summed into the first's output by oneDNN
    at::Tensor y = channels_last::convolution(a, w.narrow(1, 0, channels_a).contiguous(), bias,
                                              options_.stride(), padding_);
    a = at::Tensor();
    return channels_last::convolution(b, w.narrow(1, channels_a, channels_b).contiguous(),
                                      at::Tensor(), options_.stride(), padding_, y);
  }
  const std::vector<int64_t> ones(padding_.size(), 1);
  const std::vector<int64_t> no_output_padding(padding_.size(), 0);
  const auto convolve = [&](const at::Tensor& x, const at::Tensor& w_part, const at::Tensor& b) {
    return at::convolution(x, w_part.contiguous(), b, options_.stride(), padding_, ones,
                           /*transposed=*/false, no_output_padding, /*groups=*/1);
  };
  at::Tensor y = convolve(a, w.narrow(1, 0, channels_a), as_dtype_of(bias, a));
  a = at::Tensor();
  y.add_(convolve(b, w.narrow(1, channels_a, channels_b), at::Tensor()));
  return y;
}

// libtorch 1.13 sends transposed convolutions on CPU to its slow im2col path (3x the time of
// the matrix product of nn/upsample_concat.h here) and mis-routes bfloat16 ones into oneDNN's
// forward convolution.
bool ConvImpl::upsamples_as_matmul(const at::Tensor& x) const {
  return options_.transposed() && options_.stride() == options_.kernel_size() && x.is_cpu();
}

at::Tensor ConvImpl::forward_concat(const at::Tensor& x, const at::Tensor& skip) {
  if (!upsamples_as_matmul(x) || skip.scalar_type() != x.scalar_type())
    return at::cat({forward(x), skip}, 1);
  return upsample_concat(x, as_dtype_of(weight, x), as_dtype_of(bias, x), options_.kernel_size(),
                         skip);
}

InstanceNormImpl::InstanceNormImpl(int64_t channels, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

at::Tensor InstanceNormImpl::forward(const at::Tensor& x) {
  // As at::instance_norm (a batch norm over the N*C instances of a (1, N*C, ...) view), but
  // the result is handed out as a tensor of its own rather than as a view: the block's
  // in-place LeakyReLU on a view would make autograd rebuild the whole gradient through
  // CopySlices (two extra copies of every activation gradient per block).
  const int64_t n = x.size(0), c = x.size(1);
  std::vector<int64_t> instances = x.sizes().vec();
  instances[0] = 1;
  instances[1] = n * c;
  const at::Tensor y = at::batch_norm(x.contiguous().view(instances), weight.repeat({n}),
                                      bias.repeat({n}), /*running_mean=*/{}, /*running_var=*/{},
                                      /*training=*/true, /*momentum=*/0.0, eps_,
                                      at::globalContext().userEnabledCuDNN());
  return at::_unsafe_view(y, x.sizes());
}

}  // namespace medseg
