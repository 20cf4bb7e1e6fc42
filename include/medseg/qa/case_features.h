// What the out-of-distribution check and `medseg drift` compare: a few numbers per case that a
// scan has before any label exists (spacing, the physical extent of its nonzero region, per
// channel intensity percentiles, raw and after z-scoring) and, with a label map (the training
// labels at `medseg plan`, the prediction at `medseg predict`), the volume of each structure.
// Computed the same way on both sides, so that a new scan is compared with like.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "medseg/io/dataset.h"

namespace medseg {

// Intensity percentiles are taken over at most this many voxels of the nonzero region (every
// k-th, deterministic): exact enough for a check, and cheap on a 512x512x300 volume.
inline constexpr int64_t kFeatureSampleVoxels = 1 << 20;

// Named numbers of one case, in a fixed order. Names (docs/user-guide.md, "Quality assurance"):
//   spacing_<axis>           mm, the input's spacing, axes z, y, x (y, x for a 2D image)
//   extent_<axis>            mm, the nonzero region's size along the axis
//   ch<c>_p01/p50/p99        channel c's 1st, 50th and 99th percentile, in the image's units
//   ch<c>_z05/z25/z75/z95    channel c's percentiles after z-scoring (mean 0, std 1): the shape
//                            of its intensity distribution, independent of scale and offset
//   volume_<label>           mm^3 of a foreground label (or region) of dataset.json, by name
//   components_<label>       its number of connected components (reported, not checked)
struct CaseFeatures {
  std::string case_id;
  std::vector<std::pair<std::string, double>> values;

  // Error naming the case when the feature is absent.
  double at(const std::string& name) const;
  const double* find(const std::string& name) const;  // nullptr when absent
  void set(const std::string& name, double value);
};

// data: (channels, spatial...) float (2D: (c, y, x); 3D: (c, z, y, x)); spacing: the spatial
// axes' spacing in the same order; labels: a label map of the same spatial shape, or undefined
// (no volume features). Error naming `case_id` on inconsistent shapes.
CaseFeatures compute_case_features(const std::string& case_id, const at::Tensor& data,
                                   const std::vector<double>& spacing, const at::Tensor& labels,
                                   const DatasetInfo& dataset);

// The same from files: the case's channel files (read with io/image.h) and, when `labels_file`
// is not empty, its label map (a training label or a prediction). Error naming the file that
// cannot be read or whose shape differs from channel 0's.
CaseFeatures case_features_of_files(const std::string& case_id,
                                    const std::vector<std::filesystem::path>& images,
                                    const std::filesystem::path& labels_file,
                                    const DatasetInfo& dataset);

// The volume names of a dataset's foreground labels (or regions): "volume_<name>".
std::string volume_feature(const std::string& label_name);
std::string components_feature(const std::string& label_name);

nlohmann::json to_json(const CaseFeatures& features);
CaseFeatures case_features_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace medseg
