#include "medseg/nn/unet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "medseg/core/error.h"
#include "medseg/nn/channels_last.h"
#include "medseg/nn/conv.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using test::isotropic_strides;
using test::plain_architecture;
using ::testing::HasSubstr;

// Biases and norm scales as a trained network has them (initialised, they are 0 and 1 and
// would hide a bias added twice or in the wrong order).
void randomize_biases_and_norms(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters()) {
    const std::string& name = p.key();
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
      p.value().uniform_(-0.5, 0.5);
    else if (name.find("norm") != std::string::npos)
      p.value().uniform_(0.5, 1.5);
  }
}

std::vector<std::vector<int64_t>> output_shapes(UNet& net, const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& y : net->forward(x)) shapes.push_back(y.sizes().vec());
  return shapes;
}

TEST(UNet, ThreeDFourStagesGivesOneOutputPerDecoderStageHighestFirst) {
  torch::manual_seed(0);
  UNet net(UNetOptions{plain_architecture({4, 8, 16, 32}, isotropic_strides(4, 3)), 1, 3, true});
  const auto shapes = output_shapes(net, torch::randn({2, 1, 16, 16, 16}));
  const std::vector<std::vector<int64_t>> expected{
      {2, 3, 16, 16, 16}, {2, 3, 8, 8, 8}, {2, 3, 4, 4, 4}};
  EXPECT_EQ(shapes, expected);

  net->set_deep_supervision(false);
  const std::vector<std::vector<int64_t>> only_highest{{2, 3, 16, 16, 16}};
  EXPECT_EQ(output_shapes(net, torch::randn({2, 1, 16, 16, 16})), only_highest);
}

// The full-resolution stage convolving the upsampling and the skip separately (inference of
// large tiles) gives the single convolution's logits, in 2D and 3D, plain and residual encoders,
// float32 and bfloat16; training keeps the concatenation.
TEST(UNet, SplitFullResolutionConcatenationGivesTheSameLogits) {
  struct Case {
    ArchitecturePlan architecture;
    std::vector<int64_t> input;
  };
  ArchitecturePlan residual = plain_architecture({4, 8, 16}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}},
                                                 {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}});
  residual.network = "ResidualEncoderUNet";
  residual.n_conv_per_stage = {1, 2, 2};
  residual.n_conv_per_stage_decoder = {1, 1};
  const std::vector<Case> cases{
      {plain_architecture({4, 8, 16, 32}, isotropic_strides(4, 3)), {2, 1, 16, 16, 16}},
      {plain_architecture({4, 8, 16}, isotropic_strides(3, 2)), {1, 2, 32, 24}},
      {residual, {1, 2, 8, 16, 12}},
  };
  for (const Case& c : cases) {
    torch::manual_seed(0);
    const int64_t channels = c.input[1];
    UNet net(UNetOptions{c.architecture, channels, 3, true});
    randomize_biases_and_norms(*net);
    const at::Tensor x = torch::randn(c.input);
    net->set_channels_last_inference(false);  // the NCDHW path's split
    std::vector<c10::ScalarType> dtypes = {torch::kFloat32};
    if (cpu_has_native_bf16()) dtypes.push_back(torch::kBFloat16);
    for (const auto dtype : dtypes) {
      net->set_compute_dtype(dtype);
      torch::NoGradGuard no_grad;
      net->set_split_concatenation_bytes(std::numeric_limits<int64_t>::max());
      const std::vector<at::Tensor> whole = net->forward(x);
      net->set_split_concatenation_bytes(0);
      const std::vector<at::Tensor> split = net->forward(x);
      ASSERT_EQ(split.size(), whole.size());
      const double tolerance = dtype == torch::kFloat32 ? 1e-5 : 5e-2;
      for (size_t i = 0; i < split.size(); ++i) {
        ASSERT_EQ(split[i].sizes(), whole[i].sizes());
        EXPECT_TRUE(torch::allclose(split[i], whole[i], tolerance, tolerance))
            << "output " << i << ", max difference "
            << (split[i] - whole[i]).abs().max().item<float>();
      }
      // Only the full-resolution output differs at all: the lower ones are computed before.
      for (size_t i = 1; i < split.size(); ++i) EXPECT_TRUE(split[i].equal(whole[i]));
    }
  }
  // With gradients the concatenation is kept (and the threshold has no say).
  torch::manual_seed(0);
  UNet net(UNetOptions{plain_architecture({4, 8}, isotropic_strides(2, 3)), 1, 2, true});
  net->set_split_concatenation_bytes(0);
  const at::Tensor x = torch::randn({1, 1, 8, 8, 8});
  net->forward(x)[0].sum().backward();
  EXPECT_TRUE(net->parameters()[0].grad().defined());
}

// Channels-last inference (nn/channels_last.h) gives libtorch's NCDHW logits, 2D and 3D,
// anisotropic kernels and strides, batches of two, float32 and bfloat16, every deep-supervision
// output; residual encoders and passes with gradients keep the NCDHW path.
TEST(UNet, ChannelsLastInferenceGivesTheLogitsOfTheNcdhwPath) {
  if (!channels_last::available()) GTEST_SKIP() << "this build has no channels-last convolution";
  struct Case {
    ArchitecturePlan architecture;
    std::vector<int64_t> input;
  };
  const std::vector<Case> cases{
      {plain_architecture({8, 16, 32, 32}, isotropic_strides(4, 3)), {2, 1, 16, 16, 16}},
      {plain_architecture({8, 16, 24}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}},
                          {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}}),
       {1, 2, 8, 24, 16}},
      {plain_architecture({8, 16, 32}, isotropic_strides(3, 2)), {2, 3, 32, 24}},
  };
  for (const Case& c : cases) {
    torch::manual_seed(0);
    UNet net(UNetOptions{c.architecture, c.input[1], 3, true});
    randomize_biases_and_norms(*net);
    const at::Tensor x = torch::randn(c.input);
    // bfloat16 only where the CPU computes it (else the NCDHW path runs both).
    std::vector<c10::ScalarType> dtypes = {torch::kFloat32};
    if (cpu_has_native_bf16()) dtypes.push_back(torch::kBFloat16);
    for (const auto dtype : dtypes) {
      net->set_compute_dtype(dtype);
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(net->uses_channels_last(x));
      net->set_channels_last_inference(false);
      int64_t before = channels_last::convolutions_run();
      const std::vector<at::Tensor> reference = net->forward(x);
      EXPECT_EQ(channels_last::convolutions_run(), before);
      net->set_channels_last_inference(true);
      const std::vector<at::Tensor> ours = net->forward(x);
      EXPECT_GT(channels_last::convolutions_run(), before);  // the path compared was taken
      ASSERT_EQ(ours.size(), reference.size());
      for (size_t i = 0; i < ours.size(); ++i) {
        ASSERT_EQ(ours[i].sizes(), reference[i].sizes());
        EXPECT_TRUE(ours[i].is_contiguous());
        EXPECT_EQ(ours[i].scalar_type(), torch::kFloat32);
        // bfloat16 rounds each layer's output: differences of a few units in its 8th bit.
        const double tolerance = dtype == torch::kFloat32 ? 1e-4 : 0.1;
        const double scale = reference[i].abs().max().item<double>();
        EXPECT_LE((ours[i] - reference[i]).abs().max().item<double>(), tolerance * (1 + scale))
            << "output " << i << " in " << c10::toString(dtype);
      }
    }
  }
  ArchitecturePlan residual = plain_architecture({4, 8}, isotropic_strides(2, 3));
  residual.network = "ResidualEncoderUNet";
  residual.n_conv_per_stage = {1, 1};
  residual.n_conv_per_stage_decoder = {1};
  UNet residual_net(UNetOptions{residual, 1, 2, false});
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(residual_net->uses_channels_last(torch::randn({1, 1, 8, 8, 8})));
  UNet plain(UNetOptions{plain_architecture({4, 8}, isotropic_strides(2, 3)), 1, 2, false});
  EXPECT_TRUE(plain->uses_channels_last(torch::randn({1, 1, 8, 8, 8})));
  torch::GradMode::set_enabled(true);
  EXPECT_FALSE(plain->uses_channels_last(torch::randn({1, 1, 8, 8, 8})));
  torch::GradMode::set_enabled(false);
}

// The channels-last kernels against libtorch on their own: instance norm with and without the
// activation (large mean, small spread: the centred variance), and the upsampling.
TEST(ChannelsLast, InstanceNormAndUpsamplingEqualLibtorch) {
  if (!channels_last::available()) GTEST_SKIP() << "this build has no channels-last convolution";
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({2, 5, 6, 7, 9}) * 0.1 + 10;
  // (weight and bias as a trained norm has them, not 1 and 0)
  const at::Tensor weight = torch::rand({5}) + 0.5, bias = torch::randn({5});
  const at::Tensor expected = at::instance_norm(x, weight, bias, {}, {}, true, 0.0, 1e-5, false);
  for (const bool activation : {false, true}) {
    at::Tensor y = x.contiguous(at::MemoryFormat::ChannelsLast3d);
    channels_last::instance_norm_(y, weight, bias, 1e-5, activation, 0.01);
    const at::Tensor want = activation ? at::leaky_relu(expected, 0.01) : expected;
    EXPECT_TRUE(torch::allclose(y, want, 1e-4, 1e-4)) << (y - want).abs().max().item<float>();
  }
  // Statistics over many blocks of rows (the last one partial) and several parallel parts,
  // against a double-precision norm: exact centring although the mean is 100x the spread.
  const at::Tensor wide = torch::randn({2, 37, 10, 20, 30}) * 0.5 + 50;
  const at::Tensor wide_weight = torch::rand({37}) + 0.5, wide_bias = torch::randn({37});
  const at::Tensor exact =
      at::instance_norm(wide.to(at::kDouble), wide_weight.to(at::kDouble),
                        wide_bias.to(at::kDouble), {}, {}, true, 0.0, 1e-5, false);
  at::Tensor wide_y = wide.contiguous(at::MemoryFormat::ChannelsLast3d);
  channels_last::instance_norm_(wide_y, wide_weight, wide_bias, 1e-5, false, 0.01);
  // (float scale and shift of values ~150 round by ~1e-5; an uncentred variance errs by 1e-2)
  EXPECT_LT((wide_y.to(at::kDouble) - exact).abs().max().item<double>(), 1e-4);
  Conv up(ConvOptions(6, 4, {1, 2, 3}).stride({1, 2, 3}).transposed(true));
  up->bias.uniform_(-1, 1);  // each output channel its own bias: their order is checked
  const at::Tensor small = torch::randn({2, 6, 3, 4, 5});
  const at::Tensor want = at::conv_transpose3d(small, up->weight, up->bias, {1, 2, 3});
  const at::Tensor got = channels_last::upsample(small.contiguous(at::MemoryFormat::ChannelsLast3d),
                                                 up->weight, up->bias);
  EXPECT_TRUE(got.is_contiguous(at::MemoryFormat::ChannelsLast3d));
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5));
  at::Tensor ncdhw = small.clone();
  EXPECT_THROW(channels_last::instance_norm_(ncdhw, weight, bias, 1e-5, true, 0.01),
               Error);  // NCDHW, not channels-last
}

// Float32 3x3 convolutions of 16-channel blocks go through oneDNN's Winograd kernels (2-D, the
// depth taps summed over shifted runs of slices, in chunks of slices): the same convolution.
TEST(ChannelsLast, WinogradConvolutionEqualsTheDirectOne) {
  if (!channels_last::available()) GTEST_SKIP() << "this build has no channels-last convolution";
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  struct Case {
    std::vector<int64_t> x, w, padding;
    bool accumulate;
    int64_t chunk_bytes = 16 << 20;
  };
  const std::vector<Case> cases = {
      {{2, 16, 8, 24, 24}, {32, 16, 3, 3, 3}, {1, 1, 1}, false},  // batch 2, depth taps
      {{1, 16, 3, 40, 40}, {16, 16, 5, 3, 3}, {2, 1, 1}, true},   // taps beyond the slices, a sum
      {{1, 64, 4, 32, 32}, {16, 64, 1, 3, 3}, {0, 1, 1}, false},  // in-plane kernel, 64 channels
      {{2, 64, 64, 64}, {32, 64, 3, 3}, {1, 1}, true},            // 2-D
      {{1, 16, 70, 64, 64}, {16, 16, 3, 3, 3}, {1, 1, 1}, true},  // 70 slices: 2 chunks
      // with 64 KiB chunks (2 slices of 16x16x24 floats): middle chunks with halos both sides
      {{2, 16, 13, 16, 24}, {16, 16, 5, 3, 3}, {2, 1, 1}, true, 64 << 10},
      {{3, 64, 64, 64}, {16, 64, 3, 3}, {1, 1}, false, 64 << 10},  // 2-D, one image a chunk
  };
  const int64_t before = channels_last::winograd_convolutions_run();
  for (const Case& c : cases) {
    const auto format = channels_last::memory_format(static_cast<int64_t>(c.x.size()));
    const at::Tensor x = torch::randn(c.x).contiguous(format);
    const at::Tensor w = torch::randn(c.w) * std::sqrt(2.0 / static_cast<double>(c.w[1] * 27));
    const at::Tensor b = torch::randn({c.w[0]});
    const std::vector<int64_t> stride(c.padding.size(), 1);
    at::Tensor want = c.x.size() == 5 ? at::conv3d(x.contiguous(), w, b, stride, c.padding)
                                      : at::conv2d(x.contiguous(), w, b, stride, c.padding);
    at::Tensor sum;
    if (c.accumulate) {
      sum = torch::randn(want.sizes()).contiguous(format);
      want = want + sum;
    }
    const int64_t runs = channels_last::winograd_convolutions_run();
    channels_last::set_winograd_chunk_bytes(c.chunk_bytes);
    const at::Tensor got = channels_last::convolution(x, w, b, stride, c.padding, sum);
    channels_last::set_winograd_chunk_bytes(16 << 20);
    const bool took = channels_last::winograd_convolutions_run() == runs + 1;
    EXPECT_TRUE(got.is_contiguous(format));
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4))
        << c10::str(c.x) << ": " << (got - want).abs().max().item<float>()
        << (took ? " (Winograd)" : " (direct)");
  }
  if (channels_last::winograd_convolutions_run() == before)
    GTEST_SKIP() << "oneDNN has no Winograd convolution on this CPU or in this build (the "
                    "results above are the direct convolution's)";
  EXPECT_EQ(channels_last::winograd_convolutions_run(), before + 7);
  // Switched off, channels not in blocks of 16, or under 4096 voxels: the direct convolution.
  const auto cl = [](const at::Tensor& t) {
    return t.contiguous(at::MemoryFormat::ChannelsLast3d);
  };
  const at::Tensor x = cl(torch::randn({1, 16, 4, 32, 32}));
  const at::Tensor w = torch::randn({16, 16, 3, 3, 3});
  channels_last::set_winograd(false);
  channels_last::convolution(x, w, at::Tensor(), {1, 1, 1}, {1, 1, 1});
  channels_last::set_winograd(true);
  channels_last::convolution(cl(x.narrow(1, 0, 8)), w.narrow(1, 0, 8), at::Tensor(), {1, 1, 1},
                             {1, 1, 1});
  channels_last::convolution(cl(x.narrow(3, 0, 31)), w, at::Tensor(), {1, 1, 1}, {1, 1, 1});
  EXPECT_EQ(channels_last::winograd_convolutions_run(), before + 7);
  channels_last::convolution(x, w, at::Tensor(), {1, 1, 1}, {1, 1, 1});
  EXPECT_EQ(channels_last::winograd_convolutions_run(), before + 8);
}

TEST(Conv, ForwardSplitIsTheConvolutionOfTheConcatenationInInferenceOnly) {
  torch::manual_seed(0);
  Conv conv(ConvOptions(5, 4, {3, 1, 3}));
  {
    torch::NoGradGuard no_grad;
    conv->bias.uniform_(-1, 1);  // added once, not once per half
  }
  const at::Tensor a = torch::randn({2, 3, 6, 5, 7}), b = torch::randn({2, 2, 6, 5, 7});
  EXPECT_THROW(conv->forward_split(a, b), Error);  // gradients on
  torch::NoGradGuard no_grad;
  const at::Tensor expected = conv(at::cat({a, b}, 1));
  EXPECT_TRUE(torch::allclose(conv->forward_split(a, b), expected, 1e-5, 1e-5));
  EXPECT_THROW(conv->forward_split(a, b.narrow(1, 0, 1)), Error);  // 4 channels, not 5
}

TEST(UNet, AnisotropicThreeStagesWithInPlaneFirstStride) {
  torch::manual_seed(0);
  ArchitecturePlan a = plain_architecture({4, 8, 16}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}},
                                          {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}});
  UNet net(UNetOptions{a, 2, 2, true});
  const auto shapes = output_shapes(net, torch::randn({1, 2, 6, 12, 16}));
  const std::vector<std::vector<int64_t>> expected{{1, 2, 6, 12, 16}, {1, 2, 6, 6, 8}};
  EXPECT_EQ(shapes, expected);
}

TEST(UNet, TwoDFiveStagesUsesRealTwoDConvolutions) {
  torch::manual_seed(0);
  UNet net(UNetOptions{plain_architecture({4, 8, 8, 8, 8}, isotropic_strides(5, 2)), 1, 4, true});
  const auto shapes = output_shapes(net, torch::randn({3, 1, 32, 48}));
  const std::vector<std::vector<int64_t>> expected{
      {3, 4, 32, 48}, {3, 4, 16, 24}, {3, 4, 8, 12}, {3, 4, 4, 6}};
  EXPECT_EQ(shapes, expected);
  for (const auto& m : net->modules()) {
    if (const auto* conv = m->as<ConvImpl>()) {
      EXPECT_EQ(conv->weight.dim(), 4);
    }
  }
}

TEST(UNet, ResidualEncoderFiveStagesAnisotropic) {
  torch::manual_seed(0);
  ArchitecturePlan a =
      plain_architecture({4, 8, 8, 8, 8}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}, {1, 2, 2}, {2, 1, 1}},
                         {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}});
  a.network = "ResidualEncoderUNet";
  a.n_conv_per_stage = {1, 2, 2, 1, 1};
  a.n_conv_per_stage_decoder = {1, 1, 1, 1};
  UNet net(UNetOptions{a, 1, 2, true});
  const auto shapes = output_shapes(net, torch::randn({1, 1, 4, 16, 16}));
  const std::vector<std::vector<int64_t>> expected{
      {1, 2, 4, 16, 16}, {1, 2, 4, 8, 8}, {1, 2, 2, 4, 4}, {1, 2, 2, 2, 2}};
  EXPECT_EQ(shapes, expected);
}

TEST(UNet, ResidualEncoderTwoD) {
  torch::manual_seed(0);
  ArchitecturePlan a = plain_architecture({4, 8, 16}, isotropic_strides(3, 2));
  a.network = "ResidualEncoderUNet";
  UNet net(UNetOptions{a, 1, 2, false});
  const std::vector<std::vector<int64_t>> expected{{2, 2, 8, 12}};
  EXPECT_EQ(output_shapes(net, torch::randn({2, 1, 8, 12})), expected);
}

TEST(UNet, InputSizesMustBeDivisibleByTheTotalStride) {
  UNet net(UNetOptions{plain_architecture({4, 8, 16}, isotropic_strides(3, 3)), 1, 2, true});
  try {
    net->forward(torch::zeros({1, 1, 8, 8, 6}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("[1, 1, 8, 8, 6]"));
    EXPECT_THAT(e.what(), HasSubstr("divisible by the total stride [4, 4, 4]"));
  }
}

TEST(UNet, InputChannelsAndAxesAreChecked) {
  UNet net(UNetOptions{plain_architecture({4, 8}, isotropic_strides(2, 3)), 2, 2, true});
  try {
    net->forward(torch::zeros({1, 1, 8, 8, 8}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not match (batch, 2 channels, 3 spatial axes)"));
  }
  EXPECT_THROW(net->forward(torch::zeros({1, 2, 8, 8})), Error);
}

TEST(UNet, MakeUnetReadsTheConfiguration) {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.patch_size = {8, 8, 8};
  c.architecture = plain_architecture({4, 8}, isotropic_strides(2, 3));
  UNet net = make_unet(c, 1, 3, false);
  EXPECT_EQ(net->options().num_classes, 3);
  EXPECT_FALSE(net->options().deep_supervision);

  c.patch_size = {8, 8};
  try {
    make_unet(c, 1, 3);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("configuration 3d_fullres: patch_size has 2 axes"));
  }
}

}  // namespace
}  // namespace medseg
