#include "medseg/infer/tiling.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

namespace {

std::string describe(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + ")";
}

void check_patch(const std::vector<int64_t>& volume_shape, const std::vector<int64_t>& patch,
                 const char* what) {
  if (volume_shape.size() != 3)
    throw Error(what, "the volume must have 3 axes (z, y, x), not " + describe(volume_shape));
  if (patch.size() != 2 && patch.size() != 3)
    throw Error(what, "the patch must have 2 or 3 axes, not " + describe(patch));
  for (int64_t p : patch)
    if (p < 1) throw Error(what, "patch sizes must be positive: " + describe(patch));
}

}  // namespace

std::vector<std::vector<int64_t>> sliding_window_steps(const std::vector<int64_t>& image_size,
                                                       const std::vector<int64_t>& patch_size,
                                                       double step_size) {
  if (image_size.size() != patch_size.size())
    throw Error("sliding_window_steps", "image " + describe(image_size) + " and patch " +
                                            describe(patch_size) + " differ in axes");
  if (!(step_size > 0.0 && step_size <= 1.0))
    throw Error("sliding_window_steps",
                "the step size must be in (0, 1], not " + std::to_string(step_size));
  std::vector<std::vector<int64_t>> steps;
  for (size_t a = 0; a < image_size.size(); ++a) {
    const int64_t image = image_size[a], patch = patch_size[a];
    if (image < patch)
      throw Error("sliding_window_steps", "image " + describe(image_size) +
                                              " is smaller than the patch " + describe(patch_size));
    const double target = static_cast<double>(patch) * step_size;
    const auto n = static_cast<int64_t>(std::ceil(static_cast<double>(image - patch) / target)) + 1;
    const double actual = n > 1 ? static_cast<double>(image - patch) / static_cast<double>(n - 1) : 0.0;
    std::vector<int64_t> axis;
    // np.round rounds halves to even; std::nearbyint does too in the default rounding mode.
    for (int64_t i = 0; i < n; ++i)
      axis.push_back(static_cast<int64_t>(std::nearbyint(actual * static_cast<double>(i))));
    steps.push_back(axis);
  }
  return steps;
}

std::vector<Tile> sliding_window_tiles(const std::vector<int64_t>& volume_shape,
                                       const std::vector<int64_t>& patch_size, double step_size) {
  check_patch(volume_shape, patch_size, "sliding_window_tiles");
  const bool planar = patch_size.size() == 2;
  std::vector<std::vector<int64_t>> steps;
  if (planar) {
    steps = sliding_window_steps({volume_shape[1], volume_shape[2]}, patch_size, step_size);
    std::vector<int64_t> slices(static_cast<size_t>(volume_shape[0]));
    for (int64_t z = 0; z < volume_shape[0]; ++z) slices[z] = z;
    steps.insert(steps.begin(), slices);
  } else {
    steps = sliding_window_steps(volume_shape, patch_size, step_size);
  }
  std::vector<int64_t> size = patch_size;
  if (planar) size.insert(size.begin(), 1);
  std::vector<Tile> tiles;
  for (int64_t z : steps[0])
    for (int64_t y : steps[1])
      for (int64_t x : steps[2]) tiles.push_back({{z, y, x}, size, planar});
  return tiles;
}

bool Padding::empty() const {
  for (size_t a = 0; a < before.size(); ++a)
    if (before[a] != 0 || after[a] != 0) return false;
  return true;
}

std::vector<int64_t> Padding::padded_shape(const std::vector<int64_t>& shape) const {
  std::vector<int64_t> out = shape;
  for (size_t a = 0; a < out.size(); ++a) out[a] += before[a] + after[a];
  return out;
}

Padding padding_for_patch(const std::vector<int64_t>& volume_shape,
                          const std::vector<int64_t>& patch_size) {
  check_patch(volume_shape, patch_size, "padding_for_patch");
  Padding p{std::vector<int64_t>(3, 0), std::vector<int64_t>(3, 0)};
  const size_t offset = 3 - patch_size.size();
  for (size_t i = 0; i < patch_size.size(); ++i) {
    const int64_t missing = std::max<int64_t>(0, patch_size[i] - volume_shape[offset + i]);
    p.before[offset + i] = missing / 2;
    p.after[offset + i] = missing - missing / 2;
  }
  return p;
}

at::Tensor pad_volume(const at::Tensor& data, const Padding& padding) {
  if (padding.empty()) return data;
  // constant_pad_nd takes (before, after) pairs from the last axis backwards.
  std::vector<int64_t> pad;
  for (int a = 2; a >= 0; --a) {
    pad.push_back(padding.before[a]);
    pad.push_back(padding.after[a]);
  }
  return at::constant_pad_nd(data, pad, 0.0);
}

at::Tensor unpad_volume(const at::Tensor& data, const Padding& padding) {
  at::Tensor out = data;
  for (int64_t a = 0; a < 3; ++a)
    out = out.narrow(a + 1, padding.before[a], data.size(a + 1) - padding.before[a] - padding.after[a]);
  return out;
}

}  // namespace medseg
