// The U-Net decoder's upsampling and concatenation in one step, on CPU. A transposed
// convolution whose kernel equals its stride (every U-Net upsampling) writes each input voxel's
// kernel-sized output block exactly once: it is one matrix product (out*K x in) x (in x voxels)
// per sample, and its K blocks then go into place. Here they are written straight into the
// first channels of the concatenation with the skip connection, in one pass over memory,
// instead of a strided permutation (libtorch's copy of an 8-axis permute runs a 2-element
// inner loop: 0.49 s for one 1x32x96x128x160 float32 output) followed by a concatenation.
// Differentiable: the backward pass is the inverse permutation and a slice.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace medseg {

// x: (n, in, s...) with 2 or 3 spatial axes; weight: (in, out, k...) as ConvTranspose;
// bias: (out) or undefined; skip: (n, c, s*k...) or undefined (then the upsampling alone).
// Returns (n, out [+ c], s*k...), contiguous, in x's dtype (weight, bias and skip must share it).
at::Tensor upsample_concat(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const std::vector<int64_t>& kernel, const at::Tensor& skip);

}  // namespace medseg
