// The number format the U-Net computes in. Parameters, optimizer state, losses and
// prediction accumulators stay float32 either way; with bfloat16 the activations (and so the
// convolutions, norms and the tensors kept for the backward pass) are bfloat16, as under the
// reference's autocast on a GPU. On a CPU with native bfloat16 arithmetic (AVX512-BF16 or
// AMX-BF16) that halves both the time of oneDNN's convolutions and the activation memory.
#pragma once

#include <string>

namespace medseg {

enum class Precision { kAuto, kFloat32, kBFloat16 };

// "auto", "fp32" or "bf16" (UsageError naming `what` otherwise).
Precision parse_precision(const std::string& text, const std::string& what);
std::string precision_name(Precision precision);

// Whether this CPU computes bfloat16 natively (the avx512_bf16 or amx_bf16 flag in
// /proc/cpuinfo); without it oneDNN emulates bfloat16 more slowly than float32.
bool cpu_has_native_bf16();

// kAuto becomes kBFloat16 on CUDA (where the reference predicts under float16 autocast; bfloat16
// has float32's range) and on a CPU with native bfloat16, kFloat32 otherwise. It is prediction's
// choice: on CUDA the trainer uses autocast instead (train/mixed_precision.h). kFloat32 and
// kBFloat16 are returned as they are.
Precision resolve_precision(Precision requested, bool cuda_device);

}  // namespace medseg
