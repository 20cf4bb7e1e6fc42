#include "medseg/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "medseg/core/error.h"

// libtorch 2.4 moved autocast to a per-device API and deprecated the CUDA-only one.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MEDSEG_AUTOCAST_PER_DEVICE 1
#else
#define MEDSEG_AUTOCAST_PER_DEVICE 0
#endif

namespace medseg {

namespace {

bool cuda_autocast_enabled() {
#if MEDSEG_AUTOCAST_PER_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

void set_cuda_autocast(bool on) {
#if MEDSEG_AUTOCAST_PER_DEVICE
  if (on) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
#endif
}

}  // namespace

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_ = cuda_autocast_enabled();
  set_cuda_autocast(true);
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  set_cuda_autocast(previous_);
  if (!previous_) at::autocast::clear_cache();
}

bool uses_autocast(const c10::Device& device, bool mixed_precision) {
  return device.is_cuda() && mixed_precision;
}

void configure_device_math(const c10::Device& device, bool mixed_precision) {
  if (!device.is_cuda() || !mixed_precision) return;
  at::globalContext().setAllowTF32CuBLAS(true);
  at::globalContext().setAllowTF32CuDNN(true);
  at::globalContext().setBenchmarkCuDNN(true);  // fixed patch size: pick the fastest kernels once
}

}  // namespace medseg
