// What preprocessing did to one case: the geometry needed to map a prediction back onto the
// input image (transpose, crop box, shapes, spacings) and the sampled class locations. Stored as
// <case>.json next to the arrays (docs/file-formats.md, "Preprocessed data").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "medseg/io/image.h"
#include "medseg/preprocess/class_locations.h"
#include "medseg/preprocess/crop.h"

namespace medseg {

inline constexpr int kCasePropertiesVersion = 1;

// Axis lists are in the array order of their stage. A 2D input (y, x) is processed as one slice
// (1, y, x) with spacing 999 along the added axis, as the reference does: every list from
// spacing_after_transpose on has 3 entries; original_shape and original_geometry keep 2.
struct CaseProperties {
  std::vector<int64_t> original_shape;  // input image shape (tensor order: z, y, x)
  ImageGeometry original_geometry;      // input spacing (tensor order), origin, direction
  std::vector<int> transpose_forward;   // array axis i after = axis transpose_forward[i] before
  std::vector<double> spacing_after_transpose;
  std::vector<int64_t> shape_before_cropping;  // after transpose
  BoundingBox crop_box;                        // half-open, after transpose
  std::vector<int64_t> shape_after_cropping;
  std::vector<double> target_spacing;  // spacing of the stored arrays
  std::vector<int64_t> shape_after_resampling;
  std::optional<int64_t> separate_z_axis;       // axis resampled separately (nearest), if any
  std::vector<ClassLocations> class_locations;  // empty without a label

  int64_t spatial_dims() const { return static_cast<int64_t>(shape_after_resampling.size()); }
};

nlohmann::json to_json(const CaseProperties& p);
// Strict: missing or unknown keys and inconsistent lengths throw Error naming `where`.
CaseProperties case_properties_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace medseg
