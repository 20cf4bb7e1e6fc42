#include "medseg/data/low_resolution.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/data/nearest_resize.h"

namespace medseg {
namespace {

namespace F = torch::nn::functional;

at::Tensor resample_channel(const at::Tensor& channel, double zoom,
                            const std::vector<int64_t>& ignore_axes) {
  const std::vector<int64_t> shape = channel.sizes().vec();
  std::vector<int64_t> low(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const bool ignored = std::find(ignore_axes.begin(), ignore_axes.end(),
                                   static_cast<int64_t>(d)) != ignore_axes.end();
    low[d] = ignored ? shape[d]
                     : std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(shape[d] * zoom)));
  }
  const at::Tensor down = resize_nearest_exact(channel, low).unsqueeze(0).unsqueeze(0);
  auto up = F::InterpolateFuncOptions().size(shape).align_corners(false);
  if (shape.size() == 3)
    up.mode(torch::kTrilinear);
  else
    up.mode(torch::kBilinear);
  return F::interpolate(down, up).squeeze(0).squeeze(0);
}

}  // namespace

void simulate_low_resolution(at::Tensor& data, const LowResolutionOptions& o,
                             std::vector<Rng>& rngs) {
  for (int64_t b = 0; b < data.size(0); ++b) {
    if (!chance(rngs[b], o.probability)) continue;
    for (int64_t c = 0; c < data.size(1); ++c) {
      if (!chance(rngs[b], o.p_per_channel)) continue;
      const double zoom = uniform(rngs[b], o.zoom_min, o.zoom_max);
      at::Tensor channel = data[b][c];
      channel.copy_(resample_channel(channel, zoom, o.ignore_axes));
    }
  }
}

}  // namespace medseg
