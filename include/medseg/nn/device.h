// The device a command runs on, from its --device flag: "cpu", "cuda" or "cuda:<index>". Train
// and predict share it, so both accept and reject the same spellings with the same messages.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace medseg {

// "cpu", "cuda", "cuda:1" -> a device; UsageError for anything else, and for CUDA when this
// build or machine has none (or fewer devices than the index asks for).
c10::Device parse_device(const std::string& text);

// What this binary was compiled against, for `medseg --version`: the libtorch version, whether
// CUDA is compiled in (and the toolkit's version) and whether NCCL is (and its version).
std::string torch_build_summary();

}  // namespace medseg
