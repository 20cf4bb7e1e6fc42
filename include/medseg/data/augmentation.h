// The training augmentation pipeline, assembled from a planned configuration as the reference's
// nnUNetTrainer does (rotation ranges, the anisotropic "dummy 2D" rule, mirroring axes), and
// applied to a batch in the reference's order on whatever device the batch is on.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "medseg/data/gaussian_blur.h"
#include "medseg/data/intensity_transforms.h"
#include "medseg/data/low_resolution.h"
#include "medseg/data/mirror_transform.h"
#include "medseg/data/random.h"
#include "medseg/data/spatial_transform.h"
#include "medseg/io/plans.h"

namespace medseg {

// Defaults: the reference's probabilities and ranges (docs: nnunet-facts, Training).
struct AugmentationOptions {
  SpatialTransformOptions spatial;
  GaussianNoiseOptions noise;
  GaussianBlurOptions blur;
  BrightnessOptions brightness;
  ContrastOptions contrast;
  LowResolutionOptions low_resolution;
  GammaOptions inverted_gamma{/*probability=*/0.1, 0.7, 1.5, /*invert=*/true};
  GammaOptions gamma{/*probability=*/0.3, 0.7, 1.5, /*invert=*/false};
  MirrorOptions mirror;
};

// What a trainer variant changes (the reference's nnUNetTrainerNoDA, ...NoMirroring, ...).
struct AugmentationSettings {
  bool enabled = true;               // false: no augmentation at all, no mirroring
  bool mirroring = true;             // false: no mirroring (and none at inference)
  bool elastic_deformation = false;  // the reference's trainer keeps it off
};

// The reference's rule for anisotropic 3D patches (do_dummy_2d_data_aug): largest patch edge
// over the first axis's > 3.
bool is_anisotropic_patch(const std::vector<int64_t>& patch_size);

// For one configuration: 3D rotates +-30 deg about every axis; anisotropic 3D rotates +-180 deg
// in-plane only, never scales or low-resolution-samples axis 0; 2D rotates +-180 deg (+-15 deg
// when the patch's edges differ by more than 1.5x, as the reference). Mirroring on every axis.
AugmentationOptions reference_augmentation(const ConfigurationPlan& configuration,
                                           const AugmentationSettings& settings = {});

// Every probability 0 (validation batches).
AugmentationOptions no_augmentation();

// The region the sampler cuts: initial_patch_size with the reference's scale range when
// rotation or scaling can happen, else the patch itself.
std::vector<int64_t> sampled_patch_size(const AugmentationOptions& options,
                                        const std::vector<int64_t>& patch_size);

// data float (batch, channels, sampled...), seg integer (batch, 1, sampled...): spatial
// transform down to patch_size, noise, blur, brightness, contrast, low resolution, inverted
// gamma, gamma, mirroring. Labels keep -1 where the patch saw no data. rngs: one per sample.
void augment(at::Tensor& data, at::Tensor& seg, const AugmentationOptions& options,
             const std::vector<int64_t>& patch_size, std::vector<Rng>& rngs);

}  // namespace medseg
