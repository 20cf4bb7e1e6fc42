// The dimension-generic layers against libtorch's own operators: the upsampling convolution
// computed as a matrix product, and the instance norm handed out as a tensor of its own.
#include "medseg/nn/conv.h"

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

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

TEST(Conv, UpsamplingConcatenatedWithTheSkipIsTheCatOfTheTransposedConvolutionAndTheSkip) {
  for (const std::vector<int64_t>& kernel :
       {std::vector<int64_t>{2, 2}, std::vector<int64_t>{1, 2, 2}, std::vector<int64_t>{2, 3, 1}}) {
    torch::manual_seed(6);
    Conv up(ConvOptions(6, 4, kernel).stride(kernel).transposed(true));
    {
      torch::NoGradGuard no_grad;
      up->bias.normal_();
    }
    std::vector<int64_t> input_shape = {2, 6}, skip_shape = {2, 3};
    for (size_t axis = 0; axis < kernel.size(); ++axis) {
      input_shape.push_back(static_cast<int64_t>(3 + axis));
      skip_shape.push_back(static_cast<int64_t>(3 + axis) * kernel[axis]);
    }
    const at::Tensor x = torch::randn(input_shape);
    const at::Tensor skip = torch::randn(skip_shape).requires_grad_();
    const std::vector<int64_t> zeros(kernel.size(), 0), ones(kernel.size(), 1);
    const auto concatenated = [&](bool ours) {
      return [&, ours](const at::Tensor& in) {
        if (ours) return up->forward_concat(in, skip);
        return at::cat(
            {at::convolution(in, up->weight, up->bias, kernel, zeros, ones, true, zeros, 1), skip},
            1);
      };
    };
    skip.mutable_grad() = at::Tensor();
    const Gradients reference = run(concatenated(false), x, up->weight, up->bias);
    const at::Tensor reference_skip_grad = skip.grad().clone();
    skip.mutable_grad() = at::Tensor();
    const Gradients ours = run(concatenated(true), x, up->weight, up->bias);
    ASSERT_EQ(ours.output.sizes(), reference.output.sizes());
    expect_close(ours, reference);
    EXPECT_TRUE(torch::allclose(skip.grad(), reference_skip_grad, 1e-6, 1e-6));
    EXPECT_TRUE(ours.output.is_contiguous());

    // In bfloat16 inference, bit for bit the concatenation of the upsampling alone.
    c10::InferenceMode inference;
    const at::Tensor xb = x.to(torch::kBFloat16), skipb = skip.detach().to(torch::kBFloat16);
    EXPECT_TRUE(up->forward_concat(xb, skipb).equal(at::cat({up(xb), skipb}, 1)));
  }
}

TEST(Conv, UpsamplingConcatenationRejectsASkipOfAnotherShape) {
  Conv up(ConvOptions(2, 2, {2, 2, 2}).stride({2, 2, 2}).transposed(true));
  const at::Tensor x = torch::randn({1, 2, 2, 2, 2});
  EXPECT_THROW(up->forward_concat(x, torch::randn({1, 2, 4, 4, 5})), Error);
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
