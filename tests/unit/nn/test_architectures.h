// Small architectures shared by the nn tests.
#pragma once

#include <vector>

#include "medseg/io/plans.h"

namespace medseg::test {

// n_stages stages of `features`, kernel 3 (or `kernels`), stride 2 after stage 0, 2 convs.
inline ArchitecturePlan plain_architecture(std::vector<int> features,
                                           std::vector<std::vector<int>> strides,
                                           std::vector<std::vector<int>> kernels = {}) {
  ArchitecturePlan a;
  a.n_stages = static_cast<int>(features.size());
  a.features_per_stage = features;
  a.strides = strides;
  a.kernel_sizes = kernels.empty() ? std::vector<std::vector<int>>(
                                         features.size(), std::vector<int>(strides[0].size(), 3))
                                   : kernels;
  a.n_conv_per_stage = std::vector<int>(features.size(), 2);
  a.n_conv_per_stage_decoder = std::vector<int>(features.size() - 1, 2);
  return a;
}

inline std::vector<std::vector<int>> isotropic_strides(int n_stages, int dims) {
  std::vector<std::vector<int>> strides(n_stages, std::vector<int>(dims, 2));
  strides[0] = std::vector<int>(dims, 1);
  return strides;
}

}  // namespace medseg::test
