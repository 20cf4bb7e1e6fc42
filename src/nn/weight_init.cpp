#include "medseg/nn/weight_init.h"

#include <torch/torch.h>

#include "medseg/nn/conv.h"
#include "medseg/nn/residual_block.h"

namespace medseg {
namespace {

// The module and all its descendants; works inside a constructor too, where the module is not
// yet owned by a shared_ptr (modules(include_self=true) would throw there).
template <typename Fn>
void for_each_module(torch::nn::Module& module, Fn fn) {
  fn(module);
  for (const auto& m : module.modules(/*include_self=*/false)) fn(*m);
}

}  // namespace

void init_weights_he(torch::nn::Module& module, double negative_slope) {
  torch::NoGradGuard no_grad;
  for_each_module(module, [&](torch::nn::Module& m) {
    if (auto* conv = m.as<ConvImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, negative_slope);
      if (conv->bias.defined()) conv->bias.zero_();
    }
  });
}

void zero_last_norm_of_residual_blocks(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for_each_module(module, [](torch::nn::Module& m) {
    if (auto* block = m.as<BasicBlockImpl>()) {
      block->conv2->norm->weight.zero_();
      block->conv2->norm->bias.zero_();
    }
  });
}

}  // namespace medseg
