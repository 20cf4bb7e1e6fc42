#include "medseg/nn/upsample_concat.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

#include <array>
#include <cstring>

#include "medseg/core/error.h"

namespace medseg {

namespace {

// The blocks of an upsampling: n samples of `out` channels, kernel k and input grid s, both as
// three axes (a 2D layer has k[0] = s[0] = 1).
struct Blocks {
  int64_t n = 0, out = 0;
  std::array<int64_t, 3> k{1, 1, 1}, s{1, 1, 1};

  int64_t kernel_volume() const { return k[0] * k[1] * k[2]; }
  int64_t grid_volume() const { return s[0] * s[1] * s[2]; }
  int64_t output_volume() const { return kernel_volume() * grid_volume(); }
};

// cols (n, out, k0, k1, k2, s0, s1, s2), contiguous <-> dst (n, C, s0, k0, s1, k1, s2, k2) whose
// first `out` channels are written (to_dst) or read (!to_dst); dst's samples are
// `dst_channels` channels apart. Rows of the output (one per n, out, s0, k0, s1, k1) in
// parallel; in each, the k2 interleaved input rows are read (or written) contiguously.
template <typename T>
void permute_blocks(T* cols, T* dst, const Blocks& b, int64_t dst_channels, bool to_dst) {
  const int64_t k1 = b.k[1], k2 = b.k[2], s1 = b.s[1], s2 = b.s[2];
  const int64_t grid = b.grid_volume(), kernel = b.kernel_volume(), volume = b.output_volume();
  const int64_t row_length = s2 * k2;
  const int64_t rows = b.n * b.out * b.s[0] * b.k[0] * s1 * k1;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(row_length, 1));
  at::parallel_for(0, rows, grain, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      // r = ((((sample * out + channel) * s0 + z) * k0 + a) * s1 + y) * k1 + c1
      int64_t rest = r;
      const int64_t c1 = rest % k1;
      rest /= k1;
      const int64_t y = rest % s1;
      rest /= s1;
      const int64_t a = rest % b.k[0];
      rest /= b.k[0];
      const int64_t z = rest % b.s[0];
      rest /= b.s[0];
      const int64_t channel = rest % b.out;
      const int64_t sample = rest / b.out;
      T* row = dst + (sample * dst_channels + channel) * volume +
               ((z * b.k[0] + a) * s1 * k1 + y * k1 + c1) * row_length;
      T* block = cols + ((sample * b.out + channel) * kernel + (a * k1 + c1) * k2) * grid +
                 (z * s1 + y) * s2;
      if (k2 == 2) {
        T* even = block;
        T* odd = block + grid;
        if (to_dst)
          for (int64_t x = 0; x < s2; ++x) {
            row[2 * x] = even[x];
            row[2 * x + 1] = odd[x];
          }
        else
          for (int64_t x = 0; x < s2; ++x) {
            even[x] = row[2 * x];
            odd[x] = row[2 * x + 1];
          }
        continue;
      }
      for (int64_t c2 = 0; c2 < k2; ++c2) {
        T* in = block + c2 * grid;
        if (to_dst)
          for (int64_t x = 0; x < s2; ++x) row[x * k2 + c2] = in[x];
        else
          for (int64_t x = 0; x < s2; ++x) in[x] = row[x * k2 + c2];
      }
    }
  });
}

// The element type only matters for its size here: a permutation copies bits.
void permute_blocks(const at::Tensor& cols, const at::Tensor& dst, const Blocks& b,
                    int64_t dst_channels, bool to_dst) {
  switch (cols.element_size()) {
    case 2:
      permute_blocks(static_cast<uint16_t*>(cols.data_ptr()),
                     static_cast<uint16_t*>(dst.data_ptr()), b, dst_channels, to_dst);
      return;
    case 4:
      permute_blocks(static_cast<uint32_t*>(cols.data_ptr()),
                     static_cast<uint32_t*>(dst.data_ptr()), b, dst_channels, to_dst);
      return;
    case 8:
      permute_blocks(static_cast<uint64_t*>(cols.data_ptr()),
                     static_cast<uint64_t*>(dst.data_ptr()), b, dst_channels, to_dst);
      return;
    default:
      throw Error("upsampling", "unsupported element size " + std::to_string(cols.element_size()));
  }
}

Blocks blocks_of(const at::Tensor& x, int64_t out, const std::vector<int64_t>& kernel) {
  Blocks b;
  b.n = x.size(0);
  b.out = out;
  const auto dims = static_cast<int64_t>(kernel.size());
  for (int64_t axis = 0; axis < dims; ++axis) {
    b.k[3 - dims + axis] = kernel[axis];
    b.s[3 - dims + axis] = x.size(2 + axis);
  }
  return b;
}

std::vector<int64_t> output_shape(const Blocks& b, int64_t channels, int64_t dims) {
  std::vector<int64_t> shape = {b.n, channels};
  for (int64_t axis = 3 - dims; axis < 3; ++axis) shape.push_back(b.s[axis] * b.k[axis]);
  return shape;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// cols (n, out*K, V) -> (n, out [+ skip channels], s*k...): the blocks into place, then the
// skip connection (unless it is an empty tensor) copied behind them.
class PlaceBlocks : public torch::autograd::Function<PlaceBlocks> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& cols, const at::Tensor& skip,
                            std::vector<int64_t> geometry) {
    RECORD_FUNCTION("medseg::place_blocks", std::vector<c10::IValue>({cols}));
    // geometry: n, out, dims, k0, k1, k2, s0, s1, s2
    Blocks b;
    b.n = geometry[0];
    b.out = geometry[1];
    const int64_t dims = geometry[2];
    for (int i = 0; i < 3; ++i) {
      b.k[i] = geometry[3 + i];
      b.s[i] = geometry[6 + i];
    }
    const int64_t skip_channels = skip.dim() > 1 ? skip.size(1) : 0;
    at::Tensor y = at::empty(output_shape(b, b.out + skip_channels, dims), cols.options());
    permute_blocks(cols.contiguous(), y, b, b.out + skip_channels, /*to_dst=*/true);
    if (skip_channels > 0) y.narrow(1, b.out, skip_channels).copy_(skip);
    ctx->saved_data["geometry"] = geometry;
    ctx->saved_data["skip_channels"] = skip_channels;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("medseg::place_blocks_backward", std::vector<c10::IValue>({grads[0]}));
    const std::vector<int64_t> geometry = ctx->saved_data["geometry"].toIntVector();
    const int64_t skip_channels = ctx->saved_data["skip_channels"].toInt();
    Blocks b;
    b.n = geometry[0];
    b.out = geometry[1];
    for (int i = 0; i < 3; ++i) {
      b.k[i] = geometry[3 + i];
      b.s[i] = geometry[6 + i];
    }
    const at::Tensor grad = grads[0].contiguous();
    at::Tensor grad_cols =
        at::empty({b.n, b.out * b.kernel_volume(), b.grid_volume()}, grad.options());
    permute_blocks(grad_cols, grad, b, b.out + skip_channels, /*to_dst=*/false);
    at::Tensor grad_skip;
    if (skip_channels > 0) grad_skip = grad.narrow(1, b.out, skip_channels);
    return {grad_cols, grad_skip, at::Tensor()};
  }
};

}  // namespace

at::Tensor upsample_concat(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const std::vector<int64_t>& kernel, const at::Tensor& skip) {
  const auto dims = static_cast<int64_t>(kernel.size());
  if ((dims != 2 && dims != 3) || x.dim() != dims + 2 || weight.dim() != dims + 2)
    throw Error("upsampling", "expects 2 or 3 spatial axes in the input, weight and kernel alike");
  const int64_t n = x.size(0), in = x.size(1), out = weight.size(1);
  const Blocks b = blocks_of(x, out, kernel);
  if (skip.defined()) {
    const std::vector<int64_t> expected = output_shape(b, skip.size(1), dims);
    if (skip.sizes() != at::IntArrayRef(expected) || skip.scalar_type() != x.scalar_type())
      throw Error("upsampling",
                  "the skip connection does not match the upsampled input's shape or dtype");
  }
  // (n, out*K, V): one matrix product, the bias added to each channel's K blocks at once.
  // (at::matmul would fold the batch into a product of the transposes and hand out a transposed
  // view, which costs a full copy to lay out.)
  const at::Tensor w = weight.reshape({in, out * b.kernel_volume()}).t();
  at::Tensor cols = n == 1 ? at::mm(w, x.reshape({in, -1})).unsqueeze(0)
                           : at::bmm(w.unsqueeze(0).expand({n, -1, -1}), x.reshape({n, in, -1}));
  if (bias.defined()) {
    const at::Tensor per_channel = bias.view({1, out, 1});
    if (cols.requires_grad())  // autograd would rebuild an in-place change of a view by copies
      cols = (cols.view({n, out, -1}) + per_channel).view(cols.sizes());
    else
      cols.view({n, out, -1}).add_(per_channel);
  }
  const std::vector<int64_t> geometry = {b.n,    b.out,  dims,   b.k[0], b.k[1],
                                         b.k[2], b.s[0], b.s[1], b.s[2]};
  // libtorch 1.13's custom functions take no undefined input: no skip is an empty tensor.
  return PlaceBlocks::apply(cols, skip.defined() ? skip : at::empty({0}, cols.options()), geometry);
}

}  // namespace medseg
