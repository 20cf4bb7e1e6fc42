// What one forward pass of a U-Net costs in floating-point operations, for reporting how hard
// training and prediction drive the hardware (TFLOP/s against the device's peak).
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/nn/unet_options.h"

namespace medseg {

// Operations of one forward pass over one patch of `patch` voxels (spatial axes only): 2 x the
// multiply-adds of every convolution, transposed convolution, residual projection and
// segmentation head of the network `options` describes (deep-supervision heads when
// options.deep_supervision). Normalisation, activations, pooling and biases are left out:
// well under 1% of the total for the planned networks. Throws Error for a patch whose
// dimensionality differs from the architecture's or that a stage's stride does not divide.
double forward_flops(const UNetOptions& options, const std::vector<int64_t>& patch);

// One training iteration over a batch of `batch_size` patches: forward plus backward, counted
// as 3 x forward (the backward pass computes the gradients of both inputs and weights), the
// usual convention of model-FLOP utilisation.
double training_iteration_flops(const UNetOptions& options, const std::vector<int64_t>& patch,
                                int64_t batch_size);

}  // namespace medseg
