#include "medseg/data/patch_sampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {
namespace {

int64_t ceil_half(int64_t n) {
  return n / 2 + n % 2;
}

std::vector<int64_t> random_row(const at::Tensor& locations, Rng& rng) {
  const at::Tensor voxel = locations[uniform_int(rng, 0, locations.size(0) - 1)].contiguous();
  return std::vector<int64_t>(voxel.data_ptr<int64_t>(), voxel.data_ptr<int64_t>() + voxel.numel());
}

bool has_rows(const at::Tensor& t) {
  return t.defined() && t.size(0) > 0;
}

// The voxel a sample is centred on: forced, one of a random present foreground class (else an
// annotated voxel); not forced, an annotated voxel when the case lists them; nullopt: uniform.
std::optional<std::vector<int64_t>> choose_center(const TrainingCase& c, bool force_foreground,
                                                  const std::optional<int>& ignore, Rng& rng) {
  if (force_foreground) {
    std::vector<const at::Tensor*> eligible;
    for (const auto& [label, locations] : c.class_locations)
      if (has_rows(locations) && label != ignore) eligible.push_back(&locations);
    if (!eligible.empty())
      return random_row(*eligible[uniform_int(rng, 0, eligible.size() - 1)], rng);
  }
  if (has_rows(c.annotated_locations)) return random_row(c.annotated_locations, rng);
  return std::nullopt;
}

std::vector<int64_t> spatial_shape(const at::Tensor& t) {
  return t.sizes().slice(1).vec();
}

}  // namespace

bool is_forced_foreground(int64_t sample, int64_t batch_size, double percent) {
  // Python's round() rounds half to even, as std::nearbyint does by default.
  const auto first = static_cast<int64_t>(std::nearbyint(batch_size * (1.0 - percent)));
  return sample >= first;
}

std::vector<int64_t> region_start(const std::vector<int64_t>& shape,
                                  const std::vector<int64_t>& size,
                                  const std::vector<int64_t>& patch_size,
                                  const std::optional<std::vector<int64_t>>& center, Rng& rng) {
  std::vector<int64_t> start(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    int64_t need_to_pad = size[d] - patch_size[d];
    if (need_to_pad + shape[d] < size[d]) need_to_pad = size[d] - shape[d];
    const int64_t lower = -ceil_half(need_to_pad);
    const int64_t upper = shape[d] + ceil_half(need_to_pad) - size[d];
    start[d] =
        center ? std::max(lower, (*center)[d] - size[d] / 2) : uniform_int(rng, lower, upper);
  }
  return start;
}

namespace {

// The region [start, start + size) of `volume` (channels, spatial...), `fill` where it leaves
// the volume.
at::Tensor crop_filled(const at::Tensor& volume, double fill, const std::vector<int64_t>& start,
                       const std::vector<int64_t>& size) {
  std::vector<int64_t> shape{volume.size(0)};
  shape.insert(shape.end(), size.begin(), size.end());
  at::Tensor out = at::full(shape, fill, volume.options());
  at::Tensor src = volume, dst = out;
  for (std::size_t d = 0; d < size.size(); ++d) {
    const int64_t axis = static_cast<int64_t>(d) + 1;
    const int64_t lo = std::max<int64_t>(0, start[d]);
    const int64_t hi = std::min<int64_t>(volume.size(axis), start[d] + size[d]);
    if (hi <= lo) return out;  // the region misses the volume: all padding
    src = src.narrow(axis, lo, hi - lo);
    dst = dst.narrow(axis, lo - start[d], hi - lo);
  }
  dst.copy_(src);
  return out;
}

}  // namespace

Patch crop_padded(const at::Tensor& data, const at::Tensor& seg, const std::vector<int64_t>& start,
                  const std::vector<int64_t>& size) {
  return {crop_filled(data, 0.0, start, size), crop_filled(seg, -1.0, start, size)};
}

Patch sample_patch(const TrainingCase& c, const PatchSamplerOptions& options, bool force_foreground,
                   Rng& rng) {
  const std::size_t dims = options.patch_size.size();
  std::optional<std::vector<int64_t>> center =
      choose_center(c, force_foreground, options.ignore_label, rng);
  at::Tensor data = c.data, seg = c.seg, previous = c.previous_stage;
  if (static_cast<std::size_t>(c.data.dim() - 1) == dims + 1) {
    // A 2D patch from a 3D case: one slice of the first axis.
    const int64_t slice = center ? (*center)[0] : uniform_int(rng, 0, c.data.size(1) - 1);
    data = data.select(1, slice);
    seg = seg.select(1, slice);
    if (previous.defined()) previous = previous.select(1, slice);
    if (center) center->erase(center->begin());
  } else if (static_cast<std::size_t>(c.data.dim() - 1) != dims) {
    throw Error("case " + c.id, "has " + std::to_string(c.data.dim() - 1) +
                                    " spatial axes; a patch of " + std::to_string(dims) +
                                    " axes needs " + std::to_string(dims) + " or " +
                                    std::to_string(dims + 1));
  }
  const auto start =
      region_start(spatial_shape(data), options.sampled_size, options.patch_size, center, rng);
  Patch patch = crop_padded(data, seg, start, options.sampled_size);
  if (previous.defined()) {
    patch.seg = at::cat({patch.seg, crop_filled(previous, -1.0, start, options.sampled_size)});
  }
  return patch;
}

void validate_sampler_options(const PatchSamplerOptions& o) {
  const std::string where = "patch sampler";
  if (o.patch_size.size() < 2 || o.patch_size.size() > 3)
    throw Error(where,
                "patch size must have 2 or 3 axes, got " + std::to_string(o.patch_size.size()));
  if (o.sampled_size.size() != o.patch_size.size())
    throw Error(where, "sampled size has " + std::to_string(o.sampled_size.size()) +
                           " axes, the patch size " + std::to_string(o.patch_size.size()));
  for (std::size_t d = 0; d < o.patch_size.size(); ++d) {
    if (o.patch_size[d] < 1)
      throw Error(where, "patch size must be positive on every axis, axis " + std::to_string(d) +
                             " is " + std::to_string(o.patch_size[d]));
    if (o.sampled_size[d] < o.patch_size[d])
      throw Error(where, "sampled size " + std::to_string(o.sampled_size[d]) + " on axis " +
                             std::to_string(d) + " is smaller than the patch size " +
                             std::to_string(o.patch_size[d]));
  }
  if (!(o.oversample_foreground >= 0.0 && o.oversample_foreground <= 1.0))
    throw Error(where, "foreground oversampling must be in [0, 1], got " +
                           std::to_string(o.oversample_foreground));
}

}  // namespace medseg
