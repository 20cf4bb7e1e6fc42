// Foreground voxel locations per class, sampled once at preprocessing time so that training can
// centre patches on rare classes (the reference's foreground oversampling): per class
// min(10,000, n) voxels but at least ceil(1% of n), without replacement, seeded.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"

namespace medseg {

inline constexpr int64_t kClassLocationSamples = 10000;
inline constexpr double kClassLocationMinFraction = 0.01;
inline constexpr uint64_t kClassLocationSeed = 1234;

// A class to collect: a plain label (one value) or a region (the union of its values).
struct ClassSpec {
  std::string name;
  std::vector<int> values;
};

struct ClassLocations {
  std::string name;
  std::vector<int> values;
  int64_t voxels = 0;                // voxels of the class in the case
  std::vector<int64_t> coordinates;  // sampled voxels, `dims` entries each (array axis order)

  int64_t count(int64_t dims) const { return static_cast<int64_t>(coordinates.size()) / dims; }
};

// The classes the reference collects for a dataset: each foreground label (or region) and,
// when the dataset has an ignore label, every other label together ("all_labels", background
// included) so that patches can be centred on annotated voxels.
std::vector<ClassSpec> location_classes(const DatasetInfo& info);

// The sampled coordinates as an int64 tensor (n, dims), for the training loader.
at::Tensor class_location_tensor(const ClassLocations& locations, int64_t dims);

// How many of `voxels` voxels a class keeps.
int64_t class_location_sample_size(int64_t voxels);

// Samples each class of `classes` in `segmentation` (spatial..., integer) with one generator
// seeded `seed`, used in class order. Coordinates are in segmentation's axis order.
std::vector<ClassLocations> sample_class_locations(const at::Tensor& segmentation,
                                                   const std::vector<ClassSpec>& classes,
                                                   uint64_t seed = kClassLocationSeed);

}  // namespace medseg
