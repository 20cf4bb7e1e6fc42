// Builders shared by the infer tests: small plans and datasets, networks whose logits are a
// known per-voxel function of the input, and images with a zero border and oblique geometry.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "medseg/infer/logits_function.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "medseg/io/plans.h"

namespace medseg::testing {

// One configuration `name` with the given spacing (after transpose) and patch, one channel per
// scheme, a tiny 2-stage U-Net (features 4, 8; strides 2 on every axis), and the transpose.
Plans infer_plans(const std::string& name, const std::vector<double>& spacing, const std::vector<int64_t>& patch,
                  const std::vector<int>& transpose = {0, 1, 2},
                  const std::vector<std::string>& schemes = {"NoNormalization"});

// Labels background, a, b (plain) with the given channel names.
DatasetInfo three_class_dataset(int channels = 1);
// Regions: whole = (1, 2), core = 2; regions_class_order [1, 2].
DatasetInfo region_dataset();

// Logits (batch, 3, spatial...) = (0, 15 - x, x - 25) of the first input channel x: label 1
// where x < 15, 2 where x > 25, background in between.
LogitsFunction threshold_network();
// The label the threshold network gives an intensity.
int threshold_label(float x);

// (z, y, x) = (10, 12, 9): zero border (z 0 and 9, y 0-1, x 7-8 are 0), inside 20 with a block
// of 10 and a block of 30 touching it; anisotropic spacing (1, 3, 1) and oblique direction.
Image bordered_image();
// The mask the threshold network must give through the whole path: threshold_label inside the
// nonzero bounding box, 0 outside it.
at::Tensor expected_threshold_mask(const Image& image);

}  // namespace medseg::testing
