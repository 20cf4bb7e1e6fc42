#include "medseg/loss/deep_supervision.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/loss/tensor_checks.h"

namespace medseg {

std::vector<double> deep_supervision_weights(std::size_t n_outputs) {
  if (n_outputs == 0) throw Error("deep supervision", "needs at least one output");
  if (n_outputs == 1) return {1.0};
  std::vector<double> weights(n_outputs);
  for (std::size_t i = 0; i < n_outputs; ++i) weights[i] = std::ldexp(1.0, -static_cast<int>(i));
  weights.back() = 0.0;
  double sum = 0.0;
  for (const double w : weights) sum += w;
  for (double& w : weights) w /= sum;
  return weights;
}

std::vector<std::vector<double>> deep_supervision_scales(
    const std::vector<std::vector<int>>& strides) {
  if (strides.size() < 2)
    throw Error("deep supervision",
                "needs at least 2 stages of strides, got " + std::to_string(strides.size()));
  std::vector<std::vector<double>> scales;
  std::vector<double> cumulative(strides[0].size(), 1.0);
  for (std::size_t s = 0; s + 1 < strides.size(); ++s) {
    if (strides[s].size() != cumulative.size())
      throw Error("deep supervision", "strides of stage " + std::to_string(s) +
                                          " have a different number of axes than stage 0");
    std::vector<double> scale;
    for (std::size_t axis = 0; axis < cumulative.size(); ++axis) {
      cumulative[axis] *= strides[s][axis];
      scale.push_back(1.0 / cumulative[axis]);
    }
    scales.push_back(scale);
  }
  return scales;
}

namespace {

// torch's 'nearest-exact' source index, min(floor((i + 0.5) * in / out), in - 1), in float as
// torch computes it; index_select keeps any dtype (bool, uint8, int64) without conversion.
at::Tensor nearest_exact_indices(int64_t in, int64_t out) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  std::vector<int64_t> index(out);
  for (int64_t i = 0; i < out; ++i)
    index[i] = std::min(static_cast<int64_t>(std::floor((i + 0.5f) * scale)), in - 1);
  return torch::tensor(index, torch::kLong);
}

at::Tensor downsample(const at::Tensor& batch, const std::vector<double>& scale) {
  at::Tensor out = batch;
  for (std::size_t axis = 0; axis < scale.size(); ++axis) {
    const int64_t dim = static_cast<int64_t>(axis) + 2;
    // std::nearbyint rounds half to even, as Python's round() in the reference.
    const int64_t size = static_cast<int64_t>(std::nearbyint(batch.size(dim) * scale[axis]));
    if (size != batch.size(dim))
      out = out.index_select(dim, nearest_exact_indices(batch.size(dim), size).to(batch.device()));
  }
  return out.contiguous();
}

}  // namespace

std::vector<at::Tensor> downsample_targets(const at::Tensor& target,
                                           const std::vector<std::vector<double>>& scales) {
  std::vector<at::Tensor> out;
  for (const auto& scale : scales) {
    const int64_t spatial = static_cast<int64_t>(scale.size());
    if (spatial < 1 || spatial > 3 || (target.dim() != spatial + 2 && target.dim() != spatial + 1))
      throw Error("downsample_targets",
                  "target of shape " + shape_text(target.sizes()) + " does not fit a scale of " +
                      std::to_string(spatial) +
                      " axes (expected (batch, channels, spatial) or (channels, spatial))");
    if (std::all_of(scale.begin(), scale.end(), [](double s) { return s == 1.0; })) {
      out.push_back(target);
      continue;
    }
    const bool single = target.dim() == spatial + 1;
    const at::Tensor resized = downsample(single ? target.unsqueeze(0) : target, scale);
    out.push_back(single ? resized.squeeze(0) : resized);
  }
  return out;
}

}  // namespace medseg
