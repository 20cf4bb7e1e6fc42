#include "medseg/nn/conv.h"

#include <torch/torch.h>

#include "medseg/core/error.h"

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

at::Tensor ConvImpl::forward(const at::Tensor& x) {
  const std::vector<int64_t> ones(padding_.size(), 1);
  const std::vector<int64_t> no_output_padding(padding_.size(), 0);
  return at::convolution(x, weight, bias, options_.stride(), padding_, /*dilation=*/ones,
                         options_.transposed(), no_output_padding, /*groups=*/1);
}

InstanceNormImpl::InstanceNormImpl(int64_t channels, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

at::Tensor InstanceNormImpl::forward(const at::Tensor& x) {
  return at::instance_norm(x, weight, bias, /*running_mean=*/{}, /*running_var=*/{},
                           /*use_input_stats=*/true, /*momentum=*/0.1, eps_,
                           /*cudnn_enabled=*/at::globalContext().userEnabledCuDNN());
}

}  // namespace medseg
