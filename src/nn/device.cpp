#include "medseg/nn/device.h"

#include <torch/torch.h>
#include <torch/version.h>
#ifdef MEDSEG_WITH_NCCL
#include <nccl.h>
#endif

#include "medseg/core/error.h"

namespace medseg {

c10::Device parse_device(const std::string& text) {
  if (text == "cpu") return c10::Device(c10::kCPU);
  const bool cuda = text == "cuda" || text.rfind("cuda:", 0) == 0;
  if (!cuda) throw UsageError("--device", "must be cpu, cuda or cuda:<index>, got '" + text + "'");
  int index = 0;
  if (text.size() > 5) {
    const std::string digits = text.substr(5);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--device", "must be cpu, cuda or cuda:<index>, got '" + text + "'");
    index = std::stoi(digits);
  }
  if (!torch::cuda::is_available())
    throw UsageError(
        "--device",
        "'" + text + "' asked for, but this build of medseg or this machine has no CUDA");
  if (index >= static_cast<int>(torch::cuda::device_count()))
    throw UsageError("--device", "'" + text + "': this machine has " +
                                     std::to_string(torch::cuda::device_count()) +
                                     " CUDA device(s)");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::string torch_build_summary() {
  std::string summary = "libtorch " TORCH_VERSION;
#ifdef MEDSEG_WITH_CUDA
  summary += ", CUDA " MEDSEG_CUDA_VERSION " compiled in";
#else
  summary += ", CPU only (no CUDA compiled in)";
#endif
#ifdef MEDSEG_WITH_NCCL
  summary += ", NCCL " + std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." +
             std::to_string(NCCL_PATCH);
#else
  summary += ", no NCCL";
#endif
  return summary;
}

}  // namespace medseg
