// The dimension-generic layers against libtorch's own operators: the upsampling convolution
// computed as a matrix product, and the instance norm handed out as a tensor of its own.
#include "medseg/nn/conv.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace medseg {
namespace {

struct Gradients {
  at::Tensor output, input, weight, bias;
};

// Output and gradients of sum(output * probe) through `forward`.
Gradients run(const std::function<at::Tensor(const at::Tensor&)>& forward, at::Tensor input,
              const at::Tensor& weight, const at::Tensor& bias) {
  for (const auto& t : {weight, bias})
    if (t.defined()) t.mutable_grad() = at::Tensor();
  input = input.detach().requires_grad_();
  const at::Tensor output = forward(input);
  torch::manual_seed(11);
  (output * torch::randn_like(output)).sum().backward();
  return {output.detach(), input.grad(), weight.grad().clone(),
          bias.defined() ? bias.grad().clone() : at::Tensor()};
}

void expect_close(const Gradients& a, const Gradients& b) {
  EXPECT_TRUE(torch::allclose(a.output, b.output, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(a.input, b.input, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(a.weight, b.weight, 1e-4, 1e-4));
  if (a.bias.defined()) {
    EXPECT_TRUE(torch::allclose(a.bias, b.bias, 1e-4, 1e-4));
  }
}

TEST(Conv, UpsamplingIsTheTransposedConvolutionIn2DAnd3DWithAndWithoutBias) {
  struct Case {
    std::vector<int64_t> kernel, input_shape;
    bool bias;
  };
  for (const Case& c :
       {Case{{2, 2}, {2, 6, 5, 7}, true}, Case{{1, 2, 2}, {3, 6, 3, 4, 5}, true},
        Case{{2, 2, 2}, {1, 6, 2, 3, 4}, false}, Case{{2, 1, 3}, {2, 6, 3, 2, 2}, true}}) {
    torch::manual_seed(5);
    Conv up(ConvOptions(6, 4, c.kernel).stride(c.kernel).transposed(true).bias(c.bias));
    if (c.bias) {
      torch::NoGradGuard no_grad;
      up->bias.normal_();
    }
    const at::Tensor x = torch::randn(c.input_shape);
    const std::vector<int64_t> zeros(c.kernel.size(), 0), ones(c.kernel.size(), 1);
    const Gradients reference = run(
        [&](const at::Tensor& in) {
          return at::convolution(in, up->weight, up->bias, c.kernel, zeros, ones, true, zeros, 1);
        },
        x, up->weight, up->bias);
    const Gradients ours =
        run([&](const at::Tensor& in) { return up(in); }, x, up->weight, up->bias);
    ASSERT_EQ(ours.output.sizes(), reference.output.sizes());
    expect_close(ours, reference);
  }
}

TEST(InstanceNorm, EqualsATenInstanceNormAndIsNoViewSoInPlaceActivationsStayCheap) {
  torch::manual_seed(2);
  InstanceNorm norm(5, 1e-5);
  {
    torch::NoGradGuard no_grad;
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.normal_();
  }
  const at::Tensor x = torch::randn({3, 5, 4, 6, 5}) * 3 + 1;
  const Gradients reference = run(
      [&](const at::Tensor& in) {
        return at::leaky_relu(
            at::instance_norm(in, norm->weight, norm->bias, {}, {}, true, 0.1, 1e-5, false), 0.01);
      },
      x, norm->weight, norm->bias);
  const Gradients ours = run(
      [&](const at::Tensor& in) {
        at::Tensor y = norm(in);
        EXPECT_FALSE(y.is_view());
        return at::leaky_relu_(y, 0.01);
      },
      x, norm->weight, norm->bias);
  expect_close(ours, reference);
}

}  // namespace
}  // namespace medseg
