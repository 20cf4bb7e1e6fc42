#include "medseg/nn/residual_block.h"

#include <torch/torch.h>

#include <algorithm>

#include "medseg/core/error.h"

namespace medseg {

BasicBlockImpl::BasicBlockImpl(const ConvNormActOptions& options)
    : negative_slope_(options.negative_slope()) {
  conv1 = register_module("conv1", ConvNormAct(options));
  ConvNormActOptions second = options;
  second.in_channels(options.out_channels()).stride({}).activation(false);
  conv2 = register_module("conv2", ConvNormAct(second));

  const auto& stride = options.stride();
  if (std::any_of(stride.begin(), stride.end(), [](int64_t s) { return s != 1; })) pool_ = stride;
  if (options.in_channels() != options.out_channels()) {
    // The reference's projection conv has no bias whatever the plan says.
    ConvNormActOptions projection(options.in_channels(), options.out_channels(),
                                  std::vector<int64_t>(options.kernel_size().size(), 1));
    projection.bias(false).norm_eps(options.norm_eps()).activation(false);
    skip_projection = register_module("skip_projection", ConvNormAct(projection));
  }
}

at::Tensor BasicBlockImpl::forward(const at::Tensor& x) {
  at::Tensor residual = x;
  if (!pool_.empty()) {
    // libtorch 1.13's CPU average pooling has no bfloat16 kernel: pool in float32 then.
    const bool widen = residual.scalar_type() == at::kBFloat16 && residual.is_cpu();
    if (widen) residual = residual.to(at::kFloat);
    residual = pool_.size() == 3 ? at::avg_pool3d(residual, pool_, pool_)
                                 : at::avg_pool2d(residual, pool_, pool_);
    if (widen) residual = residual.to(at::kBFloat16);
  }
  if (skip_projection) residual = skip_projection(residual);
  at::Tensor out = conv2(conv1(x));
  out += residual;
  at::leaky_relu_(out, negative_slope_);
  return out;
}

StackedResidualBlocksImpl::StackedResidualBlocksImpl(int num_blocks,
                                                     const ConvNormActOptions& first) {
  if (num_blocks < 1)
    throw Error("StackedResidualBlocks",
                "needs at least one block, got " + std::to_string(num_blocks));
  blocks_list_ = register_module("blocks", torch::nn::ModuleList());
  ConvNormActOptions options = first;
  for (int i = 0; i < num_blocks; ++i) {
    blocks_.emplace_back(options);
    blocks_list_->push_back(blocks_.back());
    options.in_channels(first.out_channels()).stride({});
  }
}

at::Tensor StackedResidualBlocksImpl::forward(at::Tensor x) {
  for (auto& block : blocks_) x = block(x);
  return x;
}

}  // namespace medseg
