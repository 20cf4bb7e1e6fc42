// The previous stage's segmentation in a cascade training batch (3d_cascade_fullres): one-hot
// channels appended to the image (the reference's MoveSegAsOneHotToDataTransform), then
// corrupted as the reference does so the network learns not to copy it: a random binary
// morphological operator per channel (ApplyRandomBinaryOperatorTransform) and the removal of a
// random connected component (RemoveRandomConnectedComponentFromOneHotEncodingTransform).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "medseg/data/random.h"

namespace medseg {

enum class BinaryOperator { kDilation, kErosion, kOpening, kClosing };

// The reference's probabilities and ranges (nnUNetTrainer.get_training_transforms, cascade).
struct CascadeAugmentationOptions {
  double p_binary_operator = 0.4;  // per sample: every channel, in random order
  double min_radius = 1.0;         // ball radius in voxels, uniform in [min, max)
  double max_radius = 8.0;
  double p_remove_component = 0.2;       // per sample: every channel, in random order
  double max_component_fraction = 0.15;  // only components smaller than this share of the patch
};

// Every probability 0: the one-hot channels pass unchanged (validation batches).
CascadeAugmentationOptions no_cascade_augmentation();

// bool (spatial...) 2D or 3D mask with a ball (disk) of `radius` voxels: {d : |d| <= radius}.
// Computed exactly with Euclidean distance transforms, so the cost does not grow with the
// radius. Outside the patch counts as neither inside nor outside the mask: dilation adds
// nothing from there, erosion removes nothing at the border (erosion is the complement's
// dilation, as the reference's torch implementation).
at::Tensor binary_morphology(const at::Tensor& mask, BinaryOperator op, double radius);

// labels integer (batch, 1, spatial...) with values >= 0 -> float (batch, values.size(),
// spatial...) one 0/1 channel per value, on the labels' device.
at::Tensor one_hot_channels(const at::Tensor& labels, const std::vector<int>& values);

// onehot float (batch, channels, spatial...) as one_hot_channels returns it, on any device
// (processed on the CPU): per sample, with the reference's probabilities, a random operator
// with a random radius on each channel in random order (voxels it adds are removed from the
// other channels), then the removal of one random connected component (full connectivity)
// smaller than max_component_fraction of the patch from each channel. rngs: one per sample.
void augment_previous_stage(at::Tensor& onehot, const CascadeAugmentationOptions& options,
                            std::vector<Rng>& rngs);

}  // namespace medseg
