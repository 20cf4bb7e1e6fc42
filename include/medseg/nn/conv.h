// Dimension-generic layers of the U-Net: convolution (or transposed convolution) and affine
// instance normalization over 2 or 3 spatial axes, so one network code path builds both 2D
// (real 2D kernels) and 3D configurations from a plan.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace medseg {

struct ConvOptions {
  ConvOptions(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel_size);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  // One entry per spatial axis (2 or 3); its length sets the layer's dimensionality.
  TORCH_ARG(std::vector<int64_t>, kernel_size);
  // Empty: 1 on every axis.
  TORCH_ARG(std::vector<int64_t>, stride) = {};
  TORCH_ARG(bool, bias) = true;
  // Transposed convolution (upsampling) without padding; otherwise padding is kernel / 2.
  TORCH_ARG(bool, transposed) = false;
};

// weight: (out, in, k...) for a convolution, (in, out, k...) for a transposed one, as torch's
// Conv*d / ConvTranspose*d, so torch's initializers compute the same fans.
class ConvImpl : public torch::nn::Module {
 public:
  explicit ConvImpl(ConvOptions options);
  at::Tensor forward(const at::Tensor& x);
  // cat({forward(x), skip}, 1), for an upsampling on CPU in one pass (nn/upsample_concat.h).
  at::Tensor forward_concat(const at::Tensor& x, const at::Tensor& skip);
  // forward(cat({a, b}, 1)) of a convolution, inference only, as two convolutions over the
  // weight's two channel ranges, summed: the concatenation is never made, and `a` is let go
  // before `b`'s convolution (pass both by std::move for that). For the full-resolution decoder
  // stage of a large tile, where a concatenation and oneDNN's blocked copy of it are the
  // process's peak memory.
  at::Tensor forward_split(at::Tensor a, at::Tensor b);

  const ConvOptions& options() const { return options_; }
  int64_t spatial_dims() const { return static_cast<int64_t>(options_.kernel_size().size()); }

  at::Tensor weight;
  at::Tensor bias;  // undefined without bias

 private:
  bool upsamples_as_matmul(const at::Tensor& x) const;

  ConvOptions options_;
  std::vector<int64_t> padding_;
};
TORCH_MODULE(Conv);

// Instance normalization with a learned per-channel scale and shift (eps as the plan says).
class InstanceNormImpl : public torch::nn::Module {
 public:
  InstanceNormImpl(int64_t channels, double eps);
  at::Tensor forward(const at::Tensor& x);
  double eps() const { return eps_; }

  at::Tensor weight;
  at::Tensor bias;

 private:
  double eps_;
};
TORCH_MODULE(InstanceNorm);

}  // namespace medseg
