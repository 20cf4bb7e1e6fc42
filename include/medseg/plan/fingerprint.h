// The dataset fingerprint (dataset_fingerprint.json): what the planner needs to know about the
// training cases, extracted as the reference does it: per case the spacing and the shape after
// cropping to the nonzero region, and per channel intensity statistics of a seeded
// with-replacement sample of foreground voxels (label > 0).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"

namespace medseg {

struct DatasetFingerprint {
  std::vector<std::vector<double>> spacings;            // per case, tensor axis order (z, y, x)
  std::vector<std::vector<int64_t>> shapes_after_crop;  // per case, (z, y, x)
  double median_relative_size_after_cropping = 1.0;     // voxels after crop / before, median
  std::vector<IntensityProperties> foreground_intensity_properties_per_channel;

  int num_cases() const { return static_cast<int>(spacings.size()); }
};

// Same keys as the reference's file; channels are keyed "0", "1", ...
nlohmann::json to_json(const DatasetFingerprint& fingerprint);
// Strict: missing or unknown keys, wrong types and per-case lists of different lengths give an
// Error naming `where` and the key.
DatasetFingerprint fingerprint_from_json(const nlohmann::json& j, const std::string& where);

DatasetFingerprint read_fingerprint(const std::filesystem::path& path);
void write_fingerprint(const DatasetFingerprint& fingerprint,
                       const std::filesystem::path& path);  // atomic

struct FingerprintOptions {
  int threads = 0;                                 // cases read in parallel (<= 0: all cores)
  int64_t total_foreground_samples = 100'000'000;  // 1e8 // n_cases drawn per case
  uint32_t seed = 1234;                            // each case's sampler starts from it
  // When set: called on the reading thread with each case as read (channels stacked
  // (c, spatial...), its label map, its spacing), so that `medseg plan` computes the QA
  // features (qa/case_features.h) in the same pass over the files.
  std::function<void(size_t case_index, const at::Tensor& data, const at::Tensor& label,
                     const std::vector<double>& spacing)>
      on_case;
};

// Reads the cases on `options.threads` threads, one case per thread at a time (never all of
// them at once); keeps per case only its compact foreground sample. Throws Error naming the
// case for unreadable files, channel/label shape mismatches and 4D images, and when no case has
// any foreground voxel.
DatasetFingerprint extract_fingerprint(const std::vector<CaseFiles>& cases, int num_channels,
                                       const FingerprintOptions& options = {});

}  // namespace medseg
