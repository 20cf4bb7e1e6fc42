#include "medseg/data/gaussian_blur.h"

#include <torch/torch.h>

#include <cmath>

namespace medseg {
namespace {

std::vector<double> gaussian_kernel(double sigma) {
  const int radius = static_cast<int>(4.0 * sigma + 0.5);
  std::vector<double> weights;
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) {
    weights.push_back(std::exp(-0.5 * i * i / (sigma * sigma)));
    sum += weights.back();
  }
  for (double& w : weights) w /= sum;
  return weights;
}

// x padded by `radius` on `axis`, scipy 'reflect' or zeros.
at::Tensor pad_axis(const at::Tensor& x, int64_t axis, int64_t radius, BlurBorder border) {
  const int64_t n = x.size(axis);
  if (border == BlurBorder::kZero) {
    std::vector<int64_t> pad(2 * (x.dim() - axis), 0);
    pad[pad.size() - 2] = radius;
    pad[pad.size() - 1] = radius;
    return at::constant_pad_nd(x, pad, 0);
  }
  std::vector<int64_t> index;
  for (int64_t i = -radius; i < n + radius; ++i) {
    int64_t m = ((i % (2 * n)) + 2 * n) % (2 * n);
    index.push_back(m < n ? m : 2 * n - 1 - m);
  }
  return x.index_select(axis, torch::tensor(index, x.options().dtype(at::kLong)));
}

at::Tensor smooth_axis(const at::Tensor& x, int64_t axis, double sigma, BlurBorder border) {
  const std::vector<double> weights = gaussian_kernel(sigma);
  const int64_t radius = static_cast<int64_t>(weights.size() / 2);
  const int64_t n = x.size(axis);
  const at::Tensor padded = pad_axis(x, axis, radius, border);
  at::Tensor out = padded.narrow(axis, 0, n) * weights[0];
  for (std::size_t k = 1; k < weights.size(); ++k)
    out.add_(padded.narrow(axis, static_cast<int64_t>(k), n), weights[k]);
  return out;
}

}  // namespace

at::Tensor gaussian_smooth(const at::Tensor& x, const std::vector<double>& sigmas,
                           BlurBorder border) {
  at::Tensor out = x.to(at::kFloat);
  const int64_t first = x.dim() - static_cast<int64_t>(sigmas.size());
  for (std::size_t d = 0; d < sigmas.size(); ++d)
    if (sigmas[d] > 0) out = smooth_axis(out, first + static_cast<int64_t>(d), sigmas[d], border);
  return out.data_ptr() == x.data_ptr() ? out.clone() : out;
}

void gaussian_blur(at::Tensor& data, const GaussianBlurOptions& o, std::vector<Rng>& rngs) {
  const int64_t dims = data.dim() - 2;
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    for (int64_t c = 0; c < data.size(1); ++c) {
      if (!chance(rngs[b], o.p_per_channel)) continue;
      const double sigma = uniform(rngs[b], o.sigma_min, o.sigma_max);
      at::Tensor channel = data[b][c];
      channel.copy_(gaussian_smooth(channel, std::vector<double>(dims, sigma)));
    }
  }
}

}  // namespace medseg
