#include "medseg/data/augmentation.h"

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {
namespace {

constexpr double kAnisotropyThreshold = 3.0;

double degrees(double d) { return d / 360.0 * 2.0 * M_PI; }

std::pair<double, double> symmetric(double deg) { return {-degrees(deg), degrees(deg)}; }

}  // namespace

bool is_anisotropic_patch(const std::vector<int64_t>& patch) {
  if (patch.size() != 3) return false;
  const int64_t largest = *std::max_element(patch.begin(), patch.end());
  return static_cast<double>(largest) / static_cast<double>(patch[0]) > kAnisotropyThreshold;
}

AugmentationOptions reference_augmentation(const ConfigurationPlan& configuration,
                                           const AugmentationSettings& settings) {
  const std::vector<int64_t>& patch = configuration.patch_size;
  if (patch.size() != 2 && patch.size() != 3)
    throw Error("configuration " + configuration.name,
                "patch size must have 2 or 3 axes, got " + std::to_string(patch.size()));
  if (!settings.enabled) return no_augmentation();
  AugmentationOptions o;
  if (patch.size() == 2) {
    const auto [lo, hi] = std::minmax_element(patch.begin(), patch.end());
    o.spatial.rotation = {symmetric(double(*hi) / double(*lo) > 1.5 ? 15.0 : 180.0)};
    o.mirror.axes = {0, 1};
  } else if (is_anisotropic_patch(patch)) {
    o.spatial.rotation = {symmetric(180.0), {0.0, 0.0}, {0.0, 0.0}};
    o.spatial.in_plane_only = true;
    o.low_resolution.ignore_axes = {0};
    o.mirror.axes = {0, 1, 2};
  } else {
    o.spatial.rotation = {symmetric(30.0), symmetric(30.0), symmetric(30.0)};
    o.mirror.axes = {0, 1, 2};
  }
  o.spatial.elastic = settings.elastic_deformation;
  if (!settings.mirroring) o.mirror.axes.clear();
  return o;
}

AugmentationOptions no_augmentation() {
  AugmentationOptions o;
  o.spatial.p_rotation = o.spatial.p_scaling = 0.0;
  o.spatial.elastic = false;
  o.noise.probability = o.blur.probability = o.brightness.probability = 0.0;
  o.contrast.probability = o.low_resolution.probability = 0.0;
  o.inverted_gamma.probability = o.gamma.probability = 0.0;
  o.mirror.axes.clear();
  return o;
}

std::vector<int64_t> sampled_patch_size(const AugmentationOptions& o,
                                        const std::vector<int64_t>& patch_size) {
  const SpatialTransformOptions& s = o.spatial;
  const bool moves = s.p_rotation > 0 || s.p_scaling > 0 || (s.elastic && s.p_elastic > 0);
  if (!moves) return patch_size;
  // The reference sizes the region with (0.85, 1.25) although it scales with (0.7, 1.4)
  // ("we keep things as they were in the old nnunet"): strong zoom-outs read some padding.
  return initial_patch_size(patch_size, s.rotation, {0.85, 1.25}, s.in_plane_only);
}

void augment(at::Tensor& data, at::Tensor& seg, const AugmentationOptions& o,
             const std::vector<int64_t>& patch_size, std::vector<Rng>& rngs) {
  if (static_cast<int64_t>(rngs.size()) != data.size(0))
    throw Error("augmentation", std::to_string(rngs.size()) + " generators for a batch of " +
                                    std::to_string(data.size(0)));
  spatial_transform(data, seg, o.spatial, patch_size, rngs);
  gaussian_noise(data, o.noise, rngs);
  gaussian_blur(data, o.blur, rngs);
  brightness(data, o.brightness, rngs);
  contrast(data, o.contrast, rngs);
  simulate_low_resolution(data, o.low_resolution, rngs);
  gamma(data, o.inverted_gamma, rngs);
  gamma(data, o.gamma, rngs);
  mirror(data, seg, o.mirror, rngs);
}

}  // namespace medseg
