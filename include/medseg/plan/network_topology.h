// The U-Net topology for a patch size and spacing, as the reference's get_pool_and_conv_props
// (network_topology.py) derives it: which axes each stage pools, the conv kernel per stage and
// axis, and the patch size padded to be divisible by 2^(pools on that axis).
#pragma once

#include <cstdint>
#include <vector>

namespace medseg {

// Feature maps of the bottleneck keep at least this edge length (the reference's
// UNet_featuremap_min_edge_length).
inline constexpr int kMinFeatureMapEdge = 4;

struct NetworkTopology {
  std::vector<int> num_pool_per_axis;
  std::vector<std::vector<int>> strides;       // [stage][axis]; stage 0 is all ones
  std::vector<std::vector<int>> kernel_sizes;  // [stage][axis]; the bottleneck is all threes
  std::vector<int64_t> patch_size;             // padded to must_be_divisible_by
  std::vector<int64_t> must_be_divisible_by;   // 2^num_pool_per_axis

  int n_stages() const { return static_cast<int>(strides.size()); }
};

// Pools an axis while its edge stays >= 2 * min_feature_map_size and its spacing is within 2x
// of the smallest spacing of the poolable axes (a single poolable axis needs an edge >= 3 *
// min_feature_map_size). `patch_size` may be fractional (a median shape): it is padded up as
// the reference pads it. Kernel size 3 on axes within 2x of the smallest current spacing.
NetworkTopology network_topology(const std::vector<double>& spacing,
                                 const std::vector<double>& patch_size,
                                 int min_feature_map_size = kMinFeatureMapEdge,
                                 int max_numpool = 999999);

// `shape` rounded up to the next multiple of `divisor` per axis (unchanged where it already
// is one), as the reference's pad_shape (fractional shapes are truncated after padding).
std::vector<int64_t> pad_shape(const std::vector<double>& shape,
                               const std::vector<int64_t>& divisor);

}  // namespace medseg
