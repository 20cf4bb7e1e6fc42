// Parameter counts against the formula, the reference's initialisation, and gradient flow.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "medseg/nn/conv.h"
#include "medseg/nn/residual_block.h"
#include "medseg/nn/unet.h"
#include "medseg/nn/weight_init.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using test::isotropic_strides;
using test::plain_architecture;

int64_t parameter_count(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

// 3D, kernel 3 (27 weights per channel pair), stride 2 (8 per transposed-conv pair).
constexpr int64_t kK = 27, kUp = 8, kIn = 1, kClasses = 3;
int64_t conv(int64_t in, int64_t out) {
  return in * out * kK + out;
}  // weights + bias
int64_t norm(int64_t c) {
  return 2 * c;
}  // scale + shift
int64_t transp(int64_t in, int64_t out) {
  return in * out * kUp + out;
}
int64_t seg(int64_t in) {
  return in * kClasses + kClasses;
}  // 1x1 conv with bias

TEST(UNetParameters, PlainCountMatchesTheFormula) {
  UNet net(
      UNetOptions{plain_architecture({2, 4, 8}, isotropic_strides(3, 3)), kIn, kClasses, true});
  // Encoder: per stage conv(in -> f) + norm, conv(f -> f) + norm.
  const int64_t encoder = conv(1, 2) + norm(2) + conv(2, 2) + norm(2) +  //
                          conv(2, 4) + norm(4) + conv(4, 4) + norm(4) +  //
                          conv(4, 8) + norm(8) + conv(8, 8) + norm(8);
  // Decoder per stage: transposed conv (below -> skip), conv(2 skip -> skip) + norm,
  // conv(skip -> skip) + norm, segmentation head.
  const int64_t decoder = transp(8, 4) + conv(8, 4) + norm(4) + conv(4, 4) + norm(4) + seg(4) +
                          transp(4, 2) + conv(4, 2) + norm(2) + conv(2, 2) + norm(2) + seg(2);
  EXPECT_EQ(encoder, 3486);
  EXPECT_EQ(decoder, 2006);
  EXPECT_EQ(parameter_count(*net), encoder + decoder);
}

TEST(UNetParameters, ResidualCountMatchesTheFormula) {
  ArchitecturePlan a = plain_architecture({2, 4, 8}, isotropic_strides(3, 3));
  a.network = "ResidualEncoderUNet";
  a.n_conv_per_stage = {1, 2, 2};  // blocks per stage
  a.n_conv_per_stage_decoder = {1, 1};
  UNet net(UNetOptions{a, kIn, kClasses, true});
  // Basic block: conv1 + norm, conv2 + norm, and a 1x1 projection without bias + norm when
  // the channels change.
  auto block = [](int64_t in, int64_t out) {
    return conv(in, out) + norm(out) + conv(out, out) + norm(out) +
           (in != out ? in * out + norm(out) : 0);
  };
  const int64_t stem = conv(1, 2) + norm(2);
  const int64_t encoder =
      stem + block(2, 2) + block(2, 4) + block(4, 4) + block(4, 8) + block(8, 8);
  const int64_t decoder = transp(8, 4) + conv(8, 4) + norm(4) + seg(4) +  //
                          transp(4, 2) + conv(4, 2) + norm(2) + seg(2);
  EXPECT_EQ(encoder + decoder, 9504);
  EXPECT_EQ(parameter_count(*net), encoder + decoder);
}

// kaiming_normal_(a = 1e-2, fan_in): std = sqrt(2 / (1 + a^2) / fan_in).
double he_std(double fan_in) {
  return std::sqrt(2.0 / (1.0 + 1e-4) / fan_in);
}

TEST(WeightInit, ConvAndTransposedConvFollowHeNormalWithZeroBias) {
  torch::manual_seed(1);
  Conv conv(ConvOptions(64, 64, {3, 3, 3}));
  Conv up(ConvOptions(64, 32, {2, 2, 2}).stride({2, 2, 2}).transposed(true));
  torch::nn::Sequential both(conv, up);
  {
    torch::NoGradGuard no_grad;
    conv->bias.fill_(3.0);
    up->bias.fill_(3.0);
  }
  init_weights_he(*both);
  EXPECT_NEAR(conv->weight.std().item<double>(), he_std(64 * 27), 0.02 * he_std(64 * 27));
  // A transposed conv's weight is (in, out, k...): torch's fan_in is out * prod(k).
  EXPECT_NEAR(up->weight.std().item<double>(), he_std(32 * 8), 0.03 * he_std(32 * 8));
  EXPECT_NEAR(conv->weight.mean().item<double>(), 0.0, 0.002);
  EXPECT_EQ(conv->bias.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(up->bias.abs().sum().item<double>(), 0.0);
}

TEST(WeightInit, ResidualBlocksStartWithTheirLastNormAtZero) {
  ArchitecturePlan a = plain_architecture({2, 4}, isotropic_strides(2, 3));
  a.network = "ResidualEncoderUNet";
  UNet net(UNetOptions{a, 1, 2, true});
  int blocks = 0;
  for (const auto& m : net->modules()) {
    if (const auto* block = m->as<BasicBlockImpl>()) {
      ++blocks;
      EXPECT_EQ(block->conv2->norm->weight.abs().sum().item<double>(), 0.0);
      EXPECT_EQ(block->conv2->norm->bias.abs().sum().item<double>(), 0.0);
      EXPECT_EQ(block->conv1->norm->weight.mean().item<double>(), 1.0);
    }
  }
  EXPECT_EQ(blocks, 4);
}

void expect_gradients_everywhere(UNet& net, const at::Tensor& x) {
  torch::manual_seed(3);
  at::Tensor loss = torch::zeros({});
  for (const auto& y : net->forward(x)) loss = loss + (y * torch::randn_like(y)).sum();
  loss.backward();
  const auto params = net->named_parameters();
  for (const auto& p : params) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    const double grad = p.value().grad().abs().max().item<double>();
    const std::string& key = p.key();
    if (key.size() > 10 && key.compare(key.size() - 10, 10, ".conv.bias") == 0) {
      // A conv bias right before an instance norm is removed by the norm's mean: its gradient
      // is zero up to rounding, as in the reference.
      const std::string weight = key.substr(0, key.size() - 4) + "weight";
      EXPECT_LT(grad, 1e-3 * params[weight].grad().abs().max().item<double>()) << key;
    } else {
      EXPECT_GT(grad, 0.0) << key;
    }
  }
}

TEST(UNetGradients, ReachEveryParameterOfThePlainUNet) {
  torch::manual_seed(2);
  UNet net(UNetOptions{plain_architecture({4, 8, 16}, isotropic_strides(3, 3)), 2, 3, true});
  expect_gradients_everywhere(net, torch::randn({2, 2, 8, 8, 8}));
}

TEST(UNetGradients, ReachEveryParameterOfTheResidualUNet) {
  torch::manual_seed(2);
  ArchitecturePlan a = plain_architecture({4, 8, 16}, isotropic_strides(3, 2));
  a.network = "ResidualEncoderUNet";
  UNet net(UNetOptions{a, 1, 2, true});
  {
    // The zero-initialised norms block the gradient of their branch's convs at step 0 (as in
    // the reference); give them a scale so every parameter is reachable.
    torch::NoGradGuard no_grad;
    for (const auto& m : net->modules())
      if (auto* block = m->as<BasicBlockImpl>()) block->conv2->norm->weight.fill_(1.0);
  }
  expect_gradients_everywhere(net, torch::randn({2, 1, 8, 8}));
}

}  // namespace
}  // namespace medseg
