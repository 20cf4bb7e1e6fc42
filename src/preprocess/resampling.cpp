#include "medseg/preprocess/resampling.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "medseg/core/error.h"
#include "medseg/preprocess/label_resampling.h"
#include "medseg/preprocess/resample_axis.h"

namespace medseg {

namespace {

std::vector<int64_t> shape_of(const at::Tensor& t) {
  return {t.sizes().begin(), t.sizes().end()};
}

std::string describe(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + ")";
}

// The axes among `candidates` whose size changes, strongest reduction first: every later pass
// then runs on fewer voxels. (The passes commute; the order only changes rounding.)
std::vector<int64_t> pass_order(const std::vector<int64_t>& from, const std::vector<int64_t>& to,
                                const std::vector<int64_t>& candidates) {
  std::vector<int64_t> axes;
  for (int64_t a : candidates)
    if (from[a] != to[a]) axes.push_back(a);
  std::stable_sort(axes.begin(), axes.end(), [&](int64_t a, int64_t b) {
    return static_cast<double>(to[a]) / from[a] < static_cast<double>(to[b]) / from[b];
  });
  return axes;
}

std::vector<int64_t> all_axes(int64_t dims) {
  std::vector<int64_t> axes(static_cast<size_t>(dims));
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

std::vector<int64_t> axes_except(int64_t dims, int64_t skip) {
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < dims; ++a)
    if (a != skip) axes.push_back(a);
  return axes;
}

at::Tensor resample_axes(at::Tensor x, const std::vector<int64_t>& axes,
                         const std::vector<int64_t>& shape, int order, int threads) {
  for (int64_t a : axes) x = resample_axis(x, a, shape[a], order, threads);
  return x;
}

// The range of every slice along `axis`.
std::vector<std::pair<double, double>> slice_ranges(const at::Tensor& x, int64_t axis) {
  std::vector<std::pair<double, double>> ranges;
  for (int64_t k = 0; k < x.size(axis); ++k) {
    const at::Tensor slice = x.select(axis, k);
    ranges.emplace_back(slice.min().item<double>(), slice.max().item<double>());
  }
  return ranges;
}

at::Tensor resample_channel(const at::Tensor& x, const std::vector<int64_t>& new_shape,
                            const ResamplingOptions& o) {
  const std::vector<int64_t> shape = shape_of(x);
  if (!o.separate_axis) {
    const auto axes = pass_order(shape, new_shape, all_axes(x.dim()));
    if (axes.empty()) return x;
    const double lo = x.min().item<double>(), hi = x.max().item<double>();
    at::Tensor y = resample_axes(x, axes, new_shape, o.order, o.threads);
    // skimage's resize clips the spline's overshoot to the input's range.
    if (o.order > 1) y.clamp_(lo, hi);
    return y;
  }
  const int64_t a = *o.separate_axis;
  std::vector<int64_t> plane_shape = new_shape;
  plane_shape[a] = shape[a];
  const auto axes = pass_order(shape, plane_shape, axes_except(x.dim(), a));
  at::Tensor y = x;
  if (!axes.empty()) {
    // The reference resizes slice by slice, so each slice is clipped to its own range.
    const auto ranges = slice_ranges(x, a);
    y = resample_axes(x, axes, plane_shape, o.order, o.threads);
    if (o.order > 1)
      for (int64_t k = 0; k < shape[a]; ++k)
        y.select(a, k).clamp_(ranges[k].first, ranges[k].second);
  }
  if (shape[a] != new_shape[a]) y = resample_axis(y, a, new_shape[a], o.order_z, o.threads);
  return y;
}

std::vector<int64_t> label_values(const at::Tensor& labels) {
  const at::Tensor unique =
      std::get<0>(at::_unique(labels.flatten(), /*sorted=*/true)).to(torch::kLong);
  std::vector<int64_t> values(unique.data_ptr<int64_t>(),
                              unique.data_ptr<int64_t>() + unique.numel());
  std::sort(values.begin(), values.end());
  return values;
}

// Each label value, in ascending order, as a mask resampled along `axes`.
// strict (the reference's separate axis with order_z > 0, nnunetv2's own loop): each label is
// assigned where np.round of its mask exceeds 0.5, later values winning.
// Otherwise batchgenerators' resize_segmentation (0.25.5, label_resampling.h): the largest mask
// wins (spline masks clipped to [0, 1], as skimage's clip), an exact tie going to the nearest
// neighbour's label when it is one of the tied ones, else to the smallest.
at::Tensor one_hot_resample(const at::Tensor& labels, const std::vector<int64_t>& axes,
                            const std::vector<int64_t>& shape, int order, bool strict,
                            int threads) {
  const auto mask_of = [&](int64_t value) {
    at::Tensor m = resample_label_mask_axis(labels, value, axes[0], shape[axes[0]], order, threads);
    for (size_t k = 1; k < axes.size(); ++k)
      m = resample_axis(m, axes[k], shape[axes[k]], order, threads);
    return m;
  };
  if (strict) {
    at::Tensor out = torch::zeros(shape, labels.options());
    for (int64_t value : label_values(labels)) out.masked_fill_(mask_of(value).gt(0.5), value);
    return out;
  }
  const at::Tensor nearest = resample_axes(labels, axes, shape, 0, threads);
  at::Tensor best, winner, nearest_on_top;
  for (int64_t value : label_values(labels)) {
    at::Tensor m = mask_of(value);
    if (order > 1) m.clamp_(0.0, 1.0);
    const at::Tensor is_nearest = nearest.eq(value);
    if (!best.defined()) {
      best = m;
      winner = torch::full(shape, value, labels.options());
      nearest_on_top = is_nearest.logical_and(m.gt(0));
      continue;
    }
    nearest_on_top.logical_or_(m.eq(best).logical_and_(m.gt(0)).logical_and_(is_nearest));
    const at::Tensor better = m.gt(best);
    nearest_on_top = torch::where(better, is_nearest, nearest_on_top);
    winner.masked_fill_(better, value);
    best = torch::maximum(best, m);
  }
  return torch::where(nearest_on_top, nearest, winner);
}

at::Tensor labels_along(const at::Tensor& labels, const std::vector<int64_t>& axes,
                        const std::vector<int64_t>& shape, int order, bool strict, int threads) {
  if (axes.empty()) return labels;
  if (order == 0) return resample_axes(labels, axes, shape, 0, threads);
  // The common case in one pass over the output (same result, bit for bit).
  if (order == 1 && !strict && labels.scalar_type() == torch::kShort && labels.dim() <= 3)
    return resample_labels_linear(labels, shape, threads);
  return one_hot_resample(labels, axes, shape, order, strict, threads);
}

void check_shapes(const std::vector<int64_t>& spatial, const std::vector<int64_t>& new_shape,
                  const char* what) {
  if (spatial.size() != new_shape.size())
    throw Error(what, "spatial shape " + describe(spatial) + " and new shape " +
                          describe(new_shape) + " have different numbers of axes");
  for (int64_t s : new_shape)
    if (s < 1) throw Error(what, "new shape " + describe(new_shape) + " has an empty axis");
}

}  // namespace

std::vector<int64_t> compute_new_shape(const std::vector<int64_t>& shape,
                                       const std::vector<double>& spacing,
                                       const std::vector<double>& new_spacing) {
  if (shape.size() != spacing.size() || shape.size() != new_spacing.size())
    throw Error("compute_new_shape",
                "shape, spacing and new spacing must have the same number of axes");
  std::vector<int64_t> out(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    // std::nearbyint rounds halves to even in the default rounding mode, like Python's round().
    const double v = std::nearbyint(spacing[i] / new_spacing[i] * static_cast<double>(shape[i]));
    out[i] = std::max<int64_t>(1, static_cast<int64_t>(v));
  }
  return out;
}

std::optional<int64_t> separate_z_axis(const std::vector<double>& spacing,
                                       const std::vector<double>& new_spacing, double threshold) {
  const auto anisotropic = [threshold](const std::vector<double>& s) {
    return *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end()) >
           threshold;
  };
  const std::vector<double>* decides = nullptr;
  if (anisotropic(spacing)) {
    decides = &spacing;
  } else if (anisotropic(new_spacing)) {
    decides = &new_spacing;
  } else {
    return std::nullopt;
  }
  const double largest = *std::max_element(decides->begin(), decides->end());
  std::vector<int64_t> axes;
  for (size_t i = 0; i < decides->size(); ++i)
    if (largest / (*decides)[i] == 1.0) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != 1) return std::nullopt;  // e.g. (0.24, 1.25, 1.25): two coarse axes
  return axes.front();
}

at::Tensor resample_data(const at::Tensor& data, const std::vector<int64_t>& new_shape,
                         const ResamplingOptions& o) {
  if (data.scalar_type() != torch::kFloat) throw Error("resample_data", "images must be float32");
  const std::vector<int64_t> shape = shape_of(data);
  check_shapes({shape.begin() + 1, shape.end()}, new_shape, "resample_data");
  if (std::equal(new_shape.begin(), new_shape.end(), shape.begin() + 1)) return data;
  if (data.size(0) == 1) return resample_channel(data[0], new_shape, o).unsqueeze(0);
  std::vector<at::Tensor> channels;
  for (int64_t c = 0; c < data.size(0); ++c)
    channels.push_back(resample_channel(data[c], new_shape, o));
  return torch::stack(channels);
}

at::Tensor resample_segmentation(const at::Tensor& labels, const std::vector<int64_t>& new_shape,
                                 const ResamplingOptions& o) {
  const std::vector<int64_t> shape = shape_of(labels);
  check_shapes(shape, new_shape, "resample_segmentation");
  if (shape == new_shape) return labels;
  if (!o.separate_axis)
    return labels_along(labels, pass_order(shape, new_shape, all_axes(labels.dim())), new_shape,
                        o.order,
                        /*strict=*/false, o.threads);
  const int64_t a = *o.separate_axis;
  std::vector<int64_t> plane_shape = new_shape;
  plane_shape[a] = shape[a];
  const at::Tensor plane =
      labels_along(labels, pass_order(shape, plane_shape, axes_except(labels.dim(), a)),
                   plane_shape, o.order, /*strict=*/false, o.threads);
  return labels_along(plane, pass_order(plane_shape, new_shape, {a}), new_shape, o.order_z,
                      /*strict=*/true, o.threads);
}

}  // namespace medseg
