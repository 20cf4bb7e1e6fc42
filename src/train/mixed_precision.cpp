#include "medseg/train/mixed_precision.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/torch_compat.h"

namespace medseg {

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_ = torch_compat::cuda_autocast_enabled();
  torch_compat::set_cuda_autocast(true, at::kBFloat16);
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  torch_compat::set_cuda_autocast(previous_, at::kBFloat16);
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
