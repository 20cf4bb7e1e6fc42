#include "medseg/data/gaussian_blur.h"

#include <torch/torch.h>

#include <cmath>

namespace medseg {
namespace {

// scipy.ndimage's kernel: taps out to int(4 sigma + 0.5) voxels.
std::vector<double> scipy_kernel(double sigma) {
  const int radius = static_cast<int>(4.0 * sigma + 0.5);
  std::vector<double> weights;
  for (int i = -radius; i <= radius; ++i)
    weights.push_back(std::exp(-0.5 * i * i / (sigma * sigma)));
  return weights;
}

// batchgeneratorsv2's _round_to_nearest_odd (Python's round: halves to even).
int64_t round_to_nearest_odd(double n) {
  const auto rounded = static_cast<int64_t>(std::nearbyint(n));
  if (rounded % 2 != 0) return rounded;
  return n - static_cast<double>(rounded) >= 0 ? rounded + 1 : rounded - 1;
}

// batchgeneratorsv2's _build_kernel(sigma, truncate=6) as blur_dimension calls it: the odd size
// nearest to 6 sigma + 0.5, taps at integer offsets about the centre.
std::vector<double> augmentation_kernel(double sigma) {
  const int64_t radius = std::max<int64_t>(0, (round_to_nearest_odd(6.0 * sigma + 0.5) - 1) / 2);
  std::vector<double> weights;
  for (int64_t i = -radius; i <= radius; ++i)
    weights.push_back(std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma)));
  return weights;
}

// Index i in [-radius, n + radius) folded into [0, n).
int64_t fold_index(int64_t i, int64_t n, BlurBorder border) {
  if (border == BlurBorder::kMirror) {  // c b | a b c | b a: period 2 (n - 1)
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    const int64_t m = ((i % period) + period) % period;
    return m < n ? m : period - m;
  }
  const int64_t m = ((i % (2 * n)) + 2 * n) % (2 * n);  // b a | a b c | c b: period 2 n
  return m < n ? m : 2 * n - 1 - m;
}

// x padded by `radius` on `axis`: mirrored, reflected or zeros.
at::Tensor pad_axis(const at::Tensor& x, int64_t axis, int64_t radius, BlurBorder border) {
  const int64_t n = x.size(axis);
  if (border == BlurBorder::kZero) {
    std::vector<int64_t> pad(2 * (x.dim() - axis), 0);
    pad[pad.size() - 2] = radius;
    pad[pad.size() - 1] = radius;
    return at::constant_pad_nd(x, pad, 0);
  }
  std::vector<int64_t> index;
  for (int64_t i = -radius; i < n + radius; ++i) index.push_back(fold_index(i, n, border));
  return x.index_select(axis, torch::tensor(index, x.options().dtype(at::kLong)));
}

// x convolved along `axis` with `weights` (odd count, normalized here).
at::Tensor smooth_axis(const at::Tensor& x, int64_t axis, std::vector<double> weights,
                       BlurBorder border) {
  double sum = 0.0;
  for (const double w : weights) sum += w;
  for (double& w : weights) w /= sum;
  const int64_t radius = static_cast<int64_t>(weights.size() / 2);
  const int64_t n = x.size(axis);
  const at::Tensor padded = pad_axis(x, axis, radius, border);
  at::Tensor out = padded.narrow(axis, 0, n) * weights[0];
  for (std::size_t k = 1; k < weights.size(); ++k)
    out.add_(padded.narrow(axis, static_cast<int64_t>(k), n), weights[k]);
  return out;
}

// x smoothed along its last sigmas.size() axes, each with kernel(sigma) (axes with sigma 0
// untouched); a new float tensor.
template <typename Kernel>
at::Tensor smooth_axes(const at::Tensor& x, const std::vector<double>& sigmas, const Kernel& kernel,
                       BlurBorder border) {
  at::Tensor out = x.to(at::kFloat);
  const int64_t first = x.dim() - static_cast<int64_t>(sigmas.size());
  for (std::size_t d = 0; d < sigmas.size(); ++d)
    if (sigmas[d] > 0)
      out = smooth_axis(out, first + static_cast<int64_t>(d), kernel(sigmas[d]), border);
  return out.data_ptr() == x.data_ptr() ? out.clone() : out;
}

}  // namespace

at::Tensor gaussian_smooth(const at::Tensor& x, const std::vector<double>& sigmas,
                           BlurBorder border) {
  return smooth_axes(x, sigmas, scipy_kernel, border);
}

at::Tensor augmentation_blur(const at::Tensor& x, const std::vector<double>& sigmas) {
  return smooth_axes(x, sigmas, augmentation_kernel, BlurBorder::kMirror);
}

void gaussian_blur(at::Tensor& data, const GaussianBlurOptions& o, std::vector<Rng>& rngs) {
  const int64_t dims = data.dim() - 2;
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    for (int64_t c = 0; c < data.size(1); ++c) {
      if (!chance(rngs[b], o.p_per_channel)) continue;
      std::vector<double> sigmas(dims);
      for (double& sigma : sigmas) sigma = uniform(rngs[b], o.sigma_min, o.sigma_max);
      at::Tensor channel = data[b][c];
      channel.copy_(augmentation_blur(channel, sigmas));
    }
  }
}

}  // namespace medseg
