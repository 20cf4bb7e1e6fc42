#include "medseg/infer/gaussian_importance.h"

#include <torch/torch.h>

#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

namespace {

// scipy's gaussian_filter truncates its kernel at int(4 * sigma + 0.5) voxels.
constexpr double kTruncate = 4.0;

// The 1D profile along one axis relative to its centre value: exp(-d^2 / (2 sigma^2)) within
// the kernel radius, 0 beyond it. (scipy normalizes the kernel to sum 1; dividing the map by
// its maximum cancels that factor.)
std::vector<double> axis_profile(int64_t size, double sigma_scale) {
  const double sigma = static_cast<double>(size) * sigma_scale;
  const auto radius = static_cast<int64_t>(kTruncate * sigma + 0.5);
  const int64_t centre = size / 2;
  std::vector<double> profile(static_cast<size_t>(size), 0.0);
  for (int64_t i = 0; i < size; ++i) {
    const double d = static_cast<double>(i - centre);
    if (std::abs(i - centre) <= radius) profile[i] = std::exp(-d * d / (2.0 * sigma * sigma));
  }
  return profile;
}

// The smoothed impulse in float64, before any scaling.
at::Tensor smoothed_impulse(const std::vector<int64_t>& patch_size, double sigma_scale) {
  if (patch_size.empty()) throw Error("gaussian_importance_map", "the patch has no axes");
  for (int64_t s : patch_size)
    if (s < 1) throw Error("gaussian_importance_map", "patch sizes must be positive");
  if (!(sigma_scale > 0)) throw Error("gaussian_importance_map", "sigma_scale must be positive");
  // The impulse response of a separable filter is the outer product of the 1D kernels.
  at::Tensor map = torch::ones({1}, torch::kDouble);
  for (int64_t size : patch_size) {
    const std::vector<double> p = axis_profile(size, sigma_scale);
    const at::Tensor axis = torch::tensor(p, torch::kDouble);
    map = map.unsqueeze(-1) * axis;
  }
  return map.reshape(patch_size);
}

// Zeros replaced by the smallest nonzero value, in the map's own type.
at::Tensor without_zeros(at::Tensor map) {
  const at::Tensor zero = map.eq(0);
  if (zero.any().item<bool>()) map.masked_fill_(zero, map.masked_select(~zero).min());
  return map.contiguous();
}

}  // namespace

at::Tensor gaussian_importance_map(const std::vector<int64_t>& patch_size, double sigma_scale) {
  const at::Tensor map = smoothed_impulse(patch_size, sigma_scale);
  return without_zeros((map / map.max()).to(torch::kFloat));
}

at::Tensor gaussian_importance_map_float16(const std::vector<int64_t>& patch_size,
                                           double sigma_scale) {
  const at::Tensor map = smoothed_impulse(patch_size, sigma_scale);
  return without_zeros((map / (map.max() / 10.0)).to(torch::kHalf));
}

}  // namespace medseg
