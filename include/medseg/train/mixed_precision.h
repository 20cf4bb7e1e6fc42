// Training numerics on CUDA: forward passes under bf16 autocast (the reference uses fp16 autocast
// with a GradScaler; bf16 has fp32's range, so no loss scaling is needed) and TF32 matrix
// products and convolutions. On the CPU both are no-ops: there the trainer sets the network's own
// compute precision instead (bf16 on a CPU with native bfloat16, nn/precision.h). The same code
// builds against libtorch 1.13 and 2.x.
#pragma once

#include <c10/core/Device.h>

namespace medseg {

// Enables CUDA autocast with bf16 for its lifetime when `enabled` (and restores the previous
// state after); does nothing otherwise.
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

// Whether the training of `device` uses autocast: a CUDA device and mixed precision asked for.
bool uses_autocast(const c10::Device& device, bool mixed_precision);

// Allows TF32 in cuBLAS and cuDNN (process-wide). For CUDA devices only; no-op on the CPU.
void configure_device_math(const c10::Device& device, bool mixed_precision);

}  // namespace medseg
