// Inference of a plain-encoder U-Net on CPU in channels-last layout (NDHWC / NHWC): the layout
// oneDNN's bfloat16 convolutions (AMX / AVX-512 BF16 brgemm kernels) compute in. Through
// libtorch's own convolution every layer's input is reordered into that layout and its output
// copied back to NCDHW, twice (oneDNN's reorder, then a strided ATen copy): on a large bfloat16
// tile those conversions took twice the convolutions' own time (docs/performance.md, issue 27).
// Here activations stay channels-last from the first convolution to the segmentation layer:
//   - convolutions run on the tensors' memory as it is: oneDNN called directly with libtorch
//     1.x (MEDSEG_WITH_ONEDNN: Debian's libdnnl, the library libtorch 1.13 itself links), or
//     libtorch 2.x's own convolution, which keeps channels-last tensors channels-last;
//   - instance norm and leaky ReLU are one kernel of this file, in place: one pass over memory
//     for the statistics (blockwise centred, combined in double), one to apply them;
//   - the decoder's upsampling (a transposed convolution whose kernel is its stride) is one
//     matrix product (oneDNN's matmul with libtorch 1.x, at::addmm with 2.x) whose rows are
//     copied to their places; the concatenation with the skip
//     connection is never made: the stage's first convolution is summed over its two inputs
//     (by a oneDNN post-op with libtorch 1.x, an in-place add with 2.x).
// The tensors are ordinary ATen tensors whose strides say channels-last; the mode is scoped to
// one forward pass of one thread (ChannelsLastScope), set by UNetImpl::forward.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace medseg::channels_last {

// Whether this build can run channels-last convolutions (oneDNN directly, or libtorch 2.x).
bool available();

// How many channels-last convolutions this thread has run (a diagnostic: tests check that the
// path they compare was taken).
int64_t convolutions_run();

// In builds that call oneDNN directly (libtorch 1.x), float32 convolutions with a 3x3 in-plane
// kernel, stride 1 and channels in blocks of 16 run through oneDNN's Winograd F(4x4, 3x3)
// kernels where they pay (3x3x3 kernels, or 64 channels and more, over 4096 voxels a sample):
// 1.7-2.4x faster on large tiles, with about 1.6x the direct convolution's rounding error
// (docs/performance.md); where oneDNN has no such kernel for the CPU, the direct one. On by
// default; process-wide. winograd_convolutions_run() counts this thread's.
void set_winograd(bool on);
int64_t winograd_convolutions_run();
// The input bytes of one chunk of slices (16 MiB by default; tests make it small).
void set_winograd_chunk_bytes(int64_t bytes);

// Set for the forward pass of one thread; the modules consult it.
class ChannelsLastScope {
 public:
  ChannelsLastScope();
  ~ChannelsLastScope();
  ChannelsLastScope(const ChannelsLastScope&) = delete;
  ChannelsLastScope& operator=(const ChannelsLastScope&) = delete;

 private:
  bool previous_;
};
bool active();

// ChannelsLast3d for 5-D tensors, ChannelsLast for 4-D ones.
at::MemoryFormat memory_format(int64_t dims);

// conv(x, w) + b (b may be undefined), x channels-last, w (out, in, k...) in x's dtype, padding
// per axis on both sides. With `accumulate` (channels-last, the output's shape and dtype) the
// result is added into it, in place, and it is returned.
at::Tensor convolution(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                       const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                       const at::Tensor& accumulate = at::Tensor());

// In place on channels-last x (float32 or bfloat16): each sample's channels normalised over
// space (biased variance, statistics in double), scaled and shifted, then a leaky ReLU of
// `negative_slope` unless `activation` is false.
void instance_norm_(at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                    bool activation, double negative_slope);

// The transposed convolution whose kernel equals its stride, on channels-last x: w (in, out,
// k...), b (out) or undefined. Returns channels-last (n, out, s*k...).
at::Tensor upsample(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

}  // namespace medseg::channels_last
