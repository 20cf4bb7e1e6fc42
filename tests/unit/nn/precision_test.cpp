// The compute precision: option parsing, what auto resolves to, and a U-Net computing in
// bfloat16 against the same U-Net in float32 (parameters and gradients stay float32).
#include "medseg/nn/precision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/nn/unet.h"
#include "support/error_of.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

TEST(Precision, ParsesAutoFp32AndBf16AndNamesAnythingElse) {
  for (const Precision p : {Precision::kAuto, Precision::kFloat32, Precision::kBFloat16})
    EXPECT_EQ(parse_precision(precision_name(p), "--precision"), p);
  EXPECT_EQ(precision_name(Precision::kBFloat16), "bf16");
  const std::string error = error_of([] { parse_precision("fp16", "--precision"); });
  EXPECT_THAT(error, HasSubstr("--precision"));
  EXPECT_THAT(error, HasSubstr("'fp16' is not a precision (auto, fp32 or bf16)"));
}

TEST(Precision, AutoIsBFloat16OnCudaAndOnACpuThatComputesItNatively) {
  EXPECT_EQ(resolve_precision(Precision::kAuto, /*cuda_device=*/false),
            cpu_has_native_bf16() ? Precision::kBFloat16 : Precision::kFloat32);
  EXPECT_EQ(resolve_precision(Precision::kAuto, /*cuda_device=*/true), Precision::kBFloat16);
  EXPECT_EQ(resolve_precision(Precision::kFloat32, false), Precision::kFloat32);
  EXPECT_EQ(resolve_precision(Precision::kBFloat16, true), Precision::kBFloat16);
}

// A 3-stage 3D U-Net with deep supervision: every layer kind (strided and transposed
// convolutions, instance norms, skips) runs in the compute dtype.
UNet small_unet() {
  torch::manual_seed(3);
  return UNet(
      UNetOptions{test::plain_architecture({4, 8, 16}, test::isotropic_strides(3, 3)), 2, 3, true});
}

double relative_error(const at::Tensor& approx, const at::Tensor& exact) {
  return ((approx - exact).abs().mean() / exact.abs().mean()).item<double>();
}

// Without native bfloat16 libtorch falls back to slow generic kernels (or none): bfloat16 is
// then never chosen automatically, and these tests say so instead of running.
#define MEDSEG_SKIP_WITHOUT_NATIVE_BF16()                         \
  if (!cpu_has_native_bf16())                                     \
  GTEST_SKIP() << "this CPU has no native bfloat16 (avx512_bf16 " \
                  "or amx_bf16); auto never picks it here"

TEST(UNetPrecision, BFloat16ForwardGivesFloat32LogitsCloseToFloat32) {
  MEDSEG_SKIP_WITHOUT_NATIVE_BF16();
  UNet net = small_unet();
  const at::Tensor x = torch::randn({2, 2, 16, 16, 16});
  torch::NoGradGuard no_grad;
  const std::vector<at::Tensor> exact = net->forward(x);
  set_precision(*net, Precision::kBFloat16);
  EXPECT_EQ(net->compute_dtype(), at::kBFloat16);
  const std::vector<at::Tensor> approx = net->forward(x);
  ASSERT_EQ(approx.size(), exact.size());
  for (size_t i = 0; i < exact.size(); ++i) {
    EXPECT_EQ(approx[i].scalar_type(), at::kFloat);
    EXPECT_EQ(approx[i].sizes(), exact[i].sizes());
    const double error = relative_error(approx[i], exact[i]);
    EXPECT_GT(error, 0.0) << "output " << i << " was not computed in bfloat16";
    EXPECT_LT(error, 0.03) << "output " << i;
  }
  for (const auto& p : net->parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);

  set_precision(*net, Precision::kFloat32);
  EXPECT_TRUE(torch::equal(net->forward(x)[0], exact[0])) << "back to float32 is exact again";
}

TEST(UNetPrecision, BFloat16BackwardGivesFloat32GradientsAlongTheFloat32Ones) {
  MEDSEG_SKIP_WITHOUT_NATIVE_BF16();
  const at::Tensor x = torch::randn({2, 2, 16, 16, 16});
  auto gradients = [&](Precision precision) {
    UNet net = small_unet();
    set_precision(*net, precision);
    torch::manual_seed(9);  // the same targets for both precisions
    at::Tensor loss = torch::zeros({});
    for (const at::Tensor& y : net->forward(x))  // every deep-supervision head gets a gradient
      loss = loss + (y - torch::randn(y.sizes())).pow(2).mean();
    loss.backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : net->parameters()) grads.push_back(p.grad());
    return grads;
  };
  const auto exact = gradients(Precision::kFloat32);
  const auto approx = gradients(Precision::kBFloat16);
  ASSERT_EQ(approx.size(), exact.size());
  const at::Tensor a = torch::cat([&] {
    std::vector<at::Tensor> flat;
    for (const auto& g : approx) {
      EXPECT_EQ(g.scalar_type(), at::kFloat);
      flat.push_back(g.flatten());
    }
    return flat;
  }());
  std::vector<at::Tensor> flat_exact;
  for (const auto& g : exact) flat_exact.push_back(g.flatten());
  const at::Tensor e = torch::cat(flat_exact);
  const double cosine = (a.dot(e) / (a.norm() * e.norm())).item<double>();
  EXPECT_GT(cosine, 0.99);
  EXPECT_LT(cosine, 1.0 - 1e-9) << "the gradients were not computed in bfloat16";
}

// Residual encoders pool their skip path, which libtorch's CPU pooling cannot do in bfloat16.
TEST(UNetPrecision, ResidualEncodersIn2DAnd3DComputeInBFloat16Too) {
  MEDSEG_SKIP_WITHOUT_NATIVE_BF16();
  for (const int dims : {2, 3}) {
    torch::manual_seed(4);
    ArchitecturePlan a = test::plain_architecture({4, 8, 16}, test::isotropic_strides(3, dims));
    a.network = "ResidualEncoderUNet";
    UNet net(UNetOptions{a, 1, 2, false});
    std::vector<int64_t> shape = {2, 1, 16, 16};
    if (dims == 3) shape.push_back(8);
    const at::Tensor x = torch::randn(shape);
    torch::NoGradGuard no_grad;
    const at::Tensor exact = net->forward(x)[0];
    set_precision(*net, Precision::kBFloat16);
    const at::Tensor approx = net->forward(x)[0];
    EXPECT_EQ(approx.scalar_type(), at::kFloat);
    EXPECT_LT(relative_error(approx, exact), 0.03) << dims << "D";
  }
}

TEST(UNetPrecision, OnlyFloat32AndBFloat16AndOnlyResolvedPrecisions) {
  UNet net = small_unet();
  EXPECT_THAT(error_of([&] { net->set_compute_dtype(at::kHalf); }),
              HasSubstr("cannot compute in Half (float32 or bfloat16)"));
  EXPECT_THAT(error_of([&] { set_precision(*net, Precision::kAuto); }),
              HasSubstr("needs a resolved precision"));
  EXPECT_EQ(net->compute_dtype(), at::kFloat);
}

}  // namespace
}  // namespace medseg
