#include "medseg/data/intensity_transforms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace medseg {

void gaussian_noise(at::Tensor& data, const GaussianNoiseOptions& o, std::vector<Rng>& rngs) {
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    const double sigma = uniform(rngs[b], o.std_min, o.std_max);
    // Noise is drawn on the CPU from a generator seeded by this sample, so a batch augmented on
    // another device gets the same noise.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(rngs[b]());
    at::Tensor sample = data[b];
    const at::Tensor noise =
        at::randn(sample.sizes(), generator, at::TensorOptions(at::kFloat)) * sigma;
    sample.add_(noise.to(sample.device()));
  }
}

void brightness(at::Tensor& data, const BrightnessOptions& o, std::vector<Rng>& rngs) {
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    for (int64_t c = 0; c < data.size(1); ++c)
      data[b][c].mul_(factor_around_one(rngs[b], o.multiplier_min, o.multiplier_max));
  }
}

void contrast(at::Tensor& data, const ContrastOptions& o, std::vector<Rng>& rngs) {
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    for (int64_t c = 0; c < data.size(1); ++c) {
      const double factor = factor_around_one(rngs[b], o.factor_min, o.factor_max);
      at::Tensor x = data[b][c];
      const at::Tensor mean = x.mean(), lo = x.min(), hi = x.max();
      x.sub_(mean).mul_(factor).add_(mean);
      x.copy_(at::maximum(at::minimum(x, hi), lo));
    }
  }
}

void gamma(at::Tensor& data, const GammaOptions& o, std::vector<Rng>& rngs) {
  constexpr double kEpsilon = 1e-7;
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    for (int64_t c = 0; c < data.size(1); ++c) {
      at::Tensor out = data[b][c];
      at::Tensor x = o.invert ? -out : out.clone();
      const at::Tensor mean = x.mean(), sd = x.std();
      const double g = factor_around_one(rngs[b], o.gamma_min, o.gamma_max);
      const at::Tensor lo = x.min(), range = x.max() - lo;
      x = ((x - lo) / at::clamp_min(range, kEpsilon)).pow(g) * range + lo;
      x = (x - x.mean()) * (sd / at::clamp_min(x.std(), kEpsilon)) + mean;
      out.copy_(o.invert ? -x : x);
    }
  }
}

}  // namespace medseg
