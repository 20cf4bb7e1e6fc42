#include "medseg/nn/network_cost.h"

#include <string>

#include "medseg/core/error.h"

namespace medseg {

namespace {

double product(const std::vector<int>& values) {
  double p = 1;
  for (int v : values) p *= v;
  return p;
}

// 2 x multiply-adds of a convolution with `kernel` from `in` to `out` channels producing
// `voxels` output voxels.
double conv_flops(double voxels, double kernel, double in, double out) {
  return 2 * voxels * kernel * in * out;
}

}  // namespace

double forward_flops(const UNetOptions& options, const std::vector<int64_t>& patch) {
  validate_unet_options(options);
  const ArchitecturePlan& a = options.architecture;
  const auto axes = static_cast<size_t>(spatial_dims(a));
  if (patch.size() != axes)
    throw Error("network cost", "a " + std::to_string(patch.size()) + "D patch for a " +
                                    std::to_string(axes) + "D network");
  const bool residual = a.network == "ResidualEncoderUNet";
  // Output voxels of each stage.
  std::vector<double> voxels;
  std::vector<int64_t> shape = patch;
  for (int s = 0; s < a.n_stages; ++s) {
    double n = 1;
    for (size_t axis = 0; axis < axes; ++axis) {
      const int64_t stride = a.strides[s][axis];
      if (shape[axis] % stride != 0)
        throw Error("network cost", "stage " + std::to_string(s) + "'s stride " +
                                        std::to_string(stride) + " does not divide " +
                                        std::to_string(shape[axis]) + " voxels");
      shape[axis] /= stride;
      n *= static_cast<double>(shape[axis]);
    }
    voxels.push_back(n);
  }
  double flops = 0;
  double in = static_cast<double>(options.in_channels);
  if (residual) {  // the stem: one conv at full resolution into stage 0's features
    flops += conv_flops(voxels[0], product(a.kernel_sizes[0]), in, a.features_per_stage[0]);
    in = a.features_per_stage[0];
  }
  for (int s = 0; s < a.n_stages; ++s) {
    const double f = a.features_per_stage[s], k = product(a.kernel_sizes[s]);
    const int n = a.n_conv_per_stage[s];
    if (residual) {  // n blocks of two convs; the first block projects when the width changes
      flops += conv_flops(voxels[s], k, in, f) + (2 * n - 1) * conv_flops(voxels[s], k, f, f);
      if (in != f) flops += conv_flops(voxels[s], 1, in, f);
    } else {
      flops += conv_flops(voxels[s], k, in, f) + (n - 1) * conv_flops(voxels[s], k, f, f);
    }
    in = f;
  }
  const auto classes = static_cast<double>(options.num_classes);
  for (int step = 1; step < a.n_stages; ++step) {  // decoder, from the deepest stage up
    const int level = a.n_stages - step - 1;
    const double below = a.features_per_stage[level + 1], f = a.features_per_stage[level];
    const double k = product(a.kernel_sizes[level]);
    const int n = a.n_conv_per_stage_decoder[step - 1];
    flops += conv_flops(voxels[level + 1], product(a.strides[level + 1]), below, f);  // transposed
    flops += conv_flops(voxels[level], k, 2 * f, f) + (n - 1) * conv_flops(voxels[level], k, f, f);
    if (options.deep_supervision || level == 0) flops += conv_flops(voxels[level], 1, f, classes);
  }
  return flops;
}

double training_iteration_flops(const UNetOptions& options, const std::vector<int64_t>& patch,
                                int64_t batch_size) {
  return 3 * forward_flops(options, patch) * static_cast<double>(batch_size);
}

}  // namespace medseg
