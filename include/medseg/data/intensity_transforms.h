// The reference's intensity augmentations (batchgenerators, as nnU-Net's trainer configures
// them): Gaussian noise, multiplicative brightness, contrast and gamma. Each takes a float batch
// (batch, channels, spatial...) on any device, changes it in place and draws each sample's
// parameters from that sample's generator; labels are never touched.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "medseg/data/random.h"

namespace medseg {

// GaussianNoiseTransform(noise_variance=(0, 0.1), p_per_sample=0.1): one value v ~ U[min, max]
// per sample, then independent N(0, v^2) noise on every channel. The reference names v a
// variance but passes it to numpy as the standard deviation; so does this.
struct GaussianNoiseOptions {
  double probability = 0.1;
  double std_min = 0.0;
  double std_max = 0.1;
};
void gaussian_noise(at::Tensor& data, const GaussianNoiseOptions& options, std::vector<Rng>& rngs);

// BrightnessMultiplicativeTransform((0.75, 1.25), per_channel=True, p_per_sample=0.15).
struct BrightnessOptions {
  double probability = 0.15;
  double multiplier_min = 0.75;
  double multiplier_max = 1.25;
};
void brightness(at::Tensor& data, const BrightnessOptions& options, std::vector<Rng>& rngs);

// ContrastAugmentationTransform((0.75, 1.25), preserve_range=True, per_channel=True,
// p_per_sample=0.15): x -> (x - mean) * f + mean per channel, f from factor_around_one, then
// clipped to the channel's previous [min, max].
struct ContrastOptions {
  double probability = 0.15;
  double factor_min = 0.75;
  double factor_max = 1.25;
};
void contrast(at::Tensor& data, const ContrastOptions& options, std::vector<Rng>& rngs);

// GammaTransform((0.7, 1.5), invert, per_channel=True, retain_stats=True): per channel,
// x -> ((x - min) / (range + 1e-7))^g * (range + 1e-7) + min with g from factor_around_one,
// then the channel's previous mean and std restored; `invert` applies it to -x (and negates
// back). The reference uses p 0.1 inverted and p 0.3 plain, one after the other.
struct GammaOptions {
  double probability = 0.3;
  double gamma_min = 0.7;
  double gamma_max = 1.5;
  bool invert = false;
};
void gamma(at::Tensor& data, const GammaOptions& options, std::vector<Rng>& rngs);

}  // namespace medseg
