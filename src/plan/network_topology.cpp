#include "medseg/plan/network_topology.h"

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

std::vector<int64_t> pad_shape(const std::vector<double>& shape,
                               const std::vector<int64_t>& divisor) {
  if (shape.size() != divisor.size())
    throw Error("pad_shape", "shape and divisor differ in length");
  std::vector<int64_t> padded(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    const double d = static_cast<double>(divisor[i]);
    const double rest = std::fmod(shape[i], d);
    double value = shape[i] + d - rest;
    if (rest == 0) value -= d;
    padded[i] = static_cast<int64_t>(value);  // numpy's astype(int) truncates
  }
  return padded;
}

namespace {

// Axes that may pool in this step (empty: stop), following the reference's three filters.
std::vector<int> axes_to_pool(const std::vector<double>& spacing, const std::vector<double>& size,
                              const std::vector<int>& num_pool, int min_edge, int max_numpool) {
  const int dim = static_cast<int>(spacing.size());
  std::vector<int> valid;
  for (int i = 0; i < dim; ++i)
    if (size[i] >= 2 * min_edge) valid.push_back(i);
  if (valid.empty()) return {};
  double min_spacing = spacing[valid[0]];
  for (int i : valid) min_spacing = std::min(min_spacing, spacing[i]);
  std::vector<int> axes;
  for (int i : valid)
    if (spacing[i] / min_spacing < 2 && num_pool[i] < max_numpool) axes.push_back(i);
  if (axes.size() == 1 && size[axes[0]] < 3 * min_edge) return {};
  return axes;
}

}  // namespace

NetworkTopology network_topology(const std::vector<double>& spacing,
                                 const std::vector<double>& patch_size, int min_feature_map_size,
                                 int max_numpool) {
  const size_t dim = spacing.size();
  if (dim != patch_size.size() || (dim != 2 && dim != 3))
    throw Error("network_topology", "spacing and patch size must both have 2 or 3 axes");
  std::vector<double> current_spacing = spacing;
  std::vector<double> current_size = patch_size;
  NetworkTopology t;
  t.num_pool_per_axis.assign(dim, 0);
  t.strides.push_back(std::vector<int>(dim, 1));
  std::vector<int> kernel(dim, 1);
  while (true) {
    const std::vector<int> axes = axes_to_pool(current_spacing, current_size, t.num_pool_per_axis,
                                               min_feature_map_size, max_numpool);
    if (axes.empty()) break;
    const double min_spacing = *std::min_element(current_spacing.begin(), current_spacing.end());
    for (size_t d = 0; d < dim; ++d)
      if (kernel[d] != 3 && current_spacing[d] / min_spacing < 2) kernel[d] = 3;
    std::vector<int> stride(dim, 1);
    for (int a : axes) {
      stride[a] = 2;
      t.num_pool_per_axis[a] += 1;
      current_spacing[a] *= 2;
      current_size[a] = std::ceil(current_size[a] / 2);
    }
    t.strides.push_back(stride);
    t.kernel_sizes.push_back(kernel);
  }
  t.kernel_sizes.push_back(std::vector<int>(dim, 3));  // the bottleneck
  for (int pools : t.num_pool_per_axis) t.must_be_divisible_by.push_back(int64_t{1} << pools);
  t.patch_size = pad_shape(patch_size, t.must_be_divisible_by);
  return t;
}

}  // namespace medseg
