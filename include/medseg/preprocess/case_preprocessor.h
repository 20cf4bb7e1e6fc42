// The one preprocessing function, used for training data and at prediction time alike, so the
// two can never drift apart: transpose, crop to the nonzero region, normalize per channel,
// resample to the configuration's spacing, and (with a label) sample class locations.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "medseg/io/image.h"
#include "medseg/io/plans.h"
#include "medseg/preprocess/case_properties.h"
#include "medseg/preprocess/class_locations.h"

namespace medseg {

struct CasePreprocessOptions {
  std::string case_id;             // names the case in error messages
  std::vector<ClassSpec> classes;  // classes to sample locations of (location_classes(dataset))
  int threads = 1;                 // resampling threads; <= 0: all cores
};

struct PreprocessedCase {
  at::Tensor data;          // float32 (channels, spatial...), C-contiguous
  at::Tensor segmentation;  // int16 (1, spatial...), -1 outside the nonzero mask; undefined
                            // when no label was given
  CaseProperties properties;
};

// `channels`: one image per channel of the dataset (same shape, 2D or 3D); `label`: the
// reference label map of the same shape, or nullptr (prediction). Throws Error naming the case
// for mismatched shapes, a channel count that differs from the plans, an unknown normalization
// scheme or label values outside int16.
PreprocessedCase preprocess_case(const std::vector<Image>& channels, const Image* label,
                                 const Plans& plans, const ConfigurationPlan& configuration,
                                 const CasePreprocessOptions& options = {});

}  // namespace medseg
