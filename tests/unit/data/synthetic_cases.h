// Small synthetic training cases for the data layer's tests.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medseg/data/training_case.h"

namespace medseg::testing {

// A (1, shape...) case whose image is the voxel's flat index (0, 1, 2, ...) and whose labels
// are 0 except `label` in the box [lo, hi) per axis; class_locations list every labelled voxel.
TrainingCase box_case(const std::string& id, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& lo, const std::vector<int64_t>& hi,
                      int label = 1);

// Labels as a flat std::vector (for EXPECT_EQ on small tensors).
std::vector<int64_t> values(const at::Tensor& t);

}  // namespace medseg::testing
