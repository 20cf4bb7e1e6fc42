#include "medseg/plan/target_spacing.h"

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/plan/percentile.h"

namespace medseg {

namespace {

std::vector<std::vector<double>> as_double_rows(const std::vector<std::vector<int64_t>>& rows) {
  std::vector<std::vector<double>> out;
  for (const auto& row : rows) out.emplace_back(row.begin(), row.end());
  return out;
}

int argmax(const std::vector<double>& values) {
  return static_cast<int>(std::max_element(values.begin(), values.end()) - values.begin());
}

}  // namespace

std::vector<double> fullres_target_spacing(const DatasetFingerprint& fp) {
  std::vector<double> target = percentile_per_axis(fp.spacings, 50);
  const std::vector<double> target_size =
      percentile_per_axis(as_double_rows(fp.shapes_after_crop), 50);
  const int worst = argmax(target);
  double max_other_spacing = 0, min_other_size = 0;
  bool first = true;
  for (int i = 0; i < static_cast<int>(target.size()); ++i) {
    if (i == worst) continue;
    max_other_spacing = first ? target[i] : std::max(max_other_spacing, target[i]);
    min_other_size = first ? target_size[i] : std::min(min_other_size, target_size[i]);
    first = false;
  }
  const bool anisotropic_spacing = target[worst] > kAnisotropyThreshold * max_other_spacing;
  const bool anisotropic_voxels = target_size[worst] * kAnisotropyThreshold < min_other_size;
  if (anisotropic_spacing && anisotropic_voxels) {
    std::vector<double> spacings_of_axis;
    for (const auto& s : fp.spacings) spacings_of_axis.push_back(s[worst]);
    double spacing = percentile(spacings_of_axis, 10);
    if (spacing < max_other_spacing) spacing = std::max(max_other_spacing, spacing) + 1e-5;
    target[worst] = spacing;
  }
  return target;
}

AxisTranspose transpose_for_spacing(const std::vector<double>& target_spacing) {
  AxisTranspose t;
  const int largest = argmax(target_spacing);
  t.forward.push_back(largest);
  for (int i = 0; i < static_cast<int>(target_spacing.size()); ++i)
    if (i != largest) t.forward.push_back(i);
  t.backward.assign(t.forward.size(), 0);
  for (size_t i = 0; i < t.forward.size(); ++i)
    t.backward[static_cast<size_t>(t.forward[i])] = static_cast<int>(i);
  return t;
}

}  // namespace medseg
