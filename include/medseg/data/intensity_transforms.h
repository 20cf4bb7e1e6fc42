// The reference's intensity augmentations (batchgenerators, as nnU-Net's trainer configures
// them): Gaussian noise, multiplicative brightness, contrast and gamma. Each takes a float batch
// (batch, channels, spatial...) on any device, changes it in place and draws each sample's
// parameters from that sample's generator; labels are never touched.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "medseg/data/random.h"

namespace medseg {

// GaussianNoiseTransform(noise_variance=(0, 0.1), p_per_channel=1, synchronize_channels=True),
// applied with p 0.1: one value v ~ U[min, max] per sample, and independent N(0, v^2) noise on
// every channel, as batchgeneratorsv2 0.3 (0.2 added one field to all channels; see
// docs/user-guide.md, "The augmentation, against the reference"). The reference names v a
// variance but passes it to torch as the standard deviation; so does this.
struct GaussianNoiseOptions {
  double probability = 0.1;
  double std_min = 0.0;
  double std_max = 0.1;
};
void gaussian_noise(at::Tensor& data, const GaussianNoiseOptions& options, std::vector<Rng>& rngs);

// MultiplicativeBrightnessTransform(BGContrast((0.75, 1.25)), synchronize_channels=False),
// applied with p 0.15: every channel times its own factor from factor_around_one (below or
// above 1 with equal chance, as BGContrast draws; batchgenerators v1 drew it uniformly).
struct BrightnessOptions {
  double probability = 0.15;
  double multiplier_min = 0.75;
  double multiplier_max = 1.25;
};
void brightness(at::Tensor& data, const BrightnessOptions& options, std::vector<Rng>& rngs);

// ContrastTransform(BGContrast((0.75, 1.25)), preserve_range=True, synchronize_channels=False),
// applied with p 0.15: x -> (x - mean) * f + mean per channel, f from factor_around_one, then
// clipped to the channel's previous [min, max].
struct ContrastOptions {
  double probability = 0.15;
  double factor_min = 0.75;
  double factor_max = 1.25;
};
void contrast(at::Tensor& data, const ContrastOptions& options, std::vector<Rng>& rngs);

// GammaTransform(BGContrast((0.7, 1.5)), p_invert_image, p_retain_stats=1): per channel,
// x -> ((x - min) / max(range, 1e-7))^g * range + min with g from factor_around_one, then the
// channel's previous mean and standard deviation restored (x - mean') * sd / max(sd', 1e-7) +
// mean; `invert` applies it to -x (and negates back). The reference uses p 0.1 inverted and
// p 0.3 plain, one after the other.
struct GammaOptions {
  double probability = 0.3;
  double gamma_min = 0.7;
  double gamma_max = 1.5;
  bool invert = false;
};
void gamma(at::Tensor& data, const GammaOptions& options, std::vector<Rng>& rngs);

}  // namespace medseg
