// The differences between the two libtorch builds medseg compiles against -- Debian's CPU
// libtorch 1.13 and libtorch 2.x with CUDA from the torch wheel -- guarded here and nowhere
// else. Code elsewhere calls these and stays inside the API both versions share.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <vector>

// True when the libtorch being compiled against is at least major.minor.
#define MEDSEG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace medseg::torch_compat {

// CUDA autocast. libtorch 2.4 moved autocast to a per-device API and deprecated (later removed)
// the CUDA-only calls that 1.13 has.
inline bool cuda_autocast_enabled() {
#if MEDSEG_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

inline void set_cuda_autocast(bool on, at::ScalarType dtype) {
#if MEDSEG_TORCH_AT_LEAST(2, 4)
  if (on) at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  if (on) at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(on);
#endif
}

// tensors[i] *= factor (a one-element tensor on their device) for all i: one multi-tensor kernel
// where libtorch has the tensor-scalar overload (2.1), one multiplication per tensor before.
inline void foreach_mul_(std::vector<at::Tensor>& tensors, const at::Tensor& factor) {
#if MEDSEG_TORCH_AT_LEAST(2, 1)
  at::_foreach_mul_(tensors, factor);
#else
  for (at::Tensor& t : tensors) t.mul_(factor);
#endif
}

}  // namespace medseg::torch_compat
