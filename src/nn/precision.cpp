#include "medseg/nn/precision.h"

#include <fstream>
#include <sstream>

#include "medseg/core/error.h"

namespace medseg {

Precision parse_precision(const std::string& text, const std::string& what) {
  if (text == "auto") return Precision::kAuto;
  if (text == "fp32") return Precision::kFloat32;
  if (text == "bf16") return Precision::kBFloat16;
  throw UsageError(what, "'" + text + "' is not a precision (auto, fp32 or bf16)");
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kAuto:
      return "auto";
    case Precision::kFloat32:
      return "fp32";
    case Precision::kBFloat16:
      return "bf16";
  }
  return "auto";
}

bool cpu_has_native_bf16() {
  static const bool native = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream flags(line.substr(line.find(':') + 1));
      std::string flag;
      while (flags >> flag)
        if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
      return false;  // every core lists the same flags
    }
    return false;
  }();
  return native;
}

Precision resolve_precision(Precision requested, bool cuda_device) {
  if (requested != Precision::kAuto) return requested;
  return cuda_device || cpu_has_native_bf16() ? Precision::kBFloat16 : Precision::kFloat32;
}

}  // namespace medseg
