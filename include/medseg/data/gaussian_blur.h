// Gaussian smoothing written with tensor ops (any device), as scipy.ndimage.gaussian_filter,
// and the reference's Gaussian blur augmentation built on it.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "medseg/data/random.h"

namespace medseg {

enum class BlurBorder {
  kReflect,  // scipy 'reflect': d c b a | a b c d | d c b a (the edge repeated)
  kZero,     // scipy 'constant' with 0
  kMirror,   // torch's 'reflect' (scipy 'mirror'): d c b | a b c d | c b a (edge not repeated)
};

// Separable Gaussian smoothing of the last sigmas.size() axes of x (leading axes untouched),
// kernel truncated at int(4 sigma + 0.5) voxels and normalized to sum 1. A sigma of 0 leaves
// its axis alone. Returns a new float tensor on x's device.
at::Tensor gaussian_smooth(const at::Tensor& x, const std::vector<double>& sigmas,
                           BlurBorder border = BlurBorder::kReflect);

// The augmentation's blur of the last sigmas.size() axes of x, as batchgeneratorsv2's
// blur_dimension: per axis a kernel of the odd size nearest to 6 sigma + 0.5 (taps at integer
// offsets, normalized) and torch's 'reflect' border (kMirror). Returns a new float tensor.
at::Tensor augmentation_blur(const at::Tensor& x, const std::vector<double>& sigmas);

// GaussianBlurTransform(blur_sigma=(0.5, 1), synchronize_channels=False,
// synchronize_axes=False, p_per_channel=0.5), applied with p 0.2: each chosen channel is
// blurred with its own sigma on each axis.
struct GaussianBlurOptions {
  double probability = 0.2;  // per sample
  double p_per_channel = 0.5;
  double sigma_min = 0.5;  // voxels
  double sigma_max = 1.0;
};

// data: float (batch, channels, spatial...), changed in place; rngs: one per sample.
void gaussian_blur(at::Tensor& data, const GaussianBlurOptions& options, std::vector<Rng>& rngs);

}  // namespace medseg
