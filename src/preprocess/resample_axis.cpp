#include "medseg/preprocess/resample_axis.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "medseg/core/error.h"
#include "medseg/core/parallel.h"

namespace medseg {

namespace {

constexpr int64_t kPad = 12;    // scipy's pre-padding with edge values before the spline filter
constexpr int64_t kLanes = 16;  // lines processed together (the inner loops vectorize over them)
const double kPole = std::sqrt(3.0) - 2.0;  // the cubic B-spline's prefilter pole

// The volume as (outer, n, inner) around `axis`.
struct Layout {
  int64_t outer = 1, n = 1, inner = 1;
};

Layout layout_of(const at::Tensor& t, int64_t axis) {
  Layout l;
  for (int64_t d = 0; d < axis; ++d) l.outer *= t.size(d);
  l.n = t.size(axis);
  for (int64_t d = axis + 1; d < t.dim(); ++d) l.inner *= t.size(d);
  return l;
}

// Per output voxel: the first input (or padded) index and the interpolation weights.
struct Taps {
  int width = 0;
  std::vector<int64_t> start;
  std::vector<int64_t> next;    // linear: the second index (clamped separately)
  std::vector<double> weights;  // width per output voxel
};

// As scipy computes them in mode 'nearest': the coordinate is not clamped, the indices are, and
// the second weight is 1 minus the first (the same doubles, so ties at 0.5 fall the same way).
Taps linear_taps(int64_t n, int64_t m) {
  Taps taps;
  taps.width = 2;
  for (int64_t o = 0; o < m; ++o) {
    const double cc = source_coordinate(o, n, m);
    const double f = std::floor(cc);
    const double w0 = 1.0 - (cc - f);
    const auto first = static_cast<int64_t>(f);
    taps.start.push_back(std::clamp<int64_t>(first, 0, n - 1));
    taps.next.push_back(std::clamp<int64_t>(first + 1, 0, n - 1));
    taps.weights.push_back(w0);
    taps.weights.push_back(1.0 - w0);
  }
  return taps;
}

// Indices into the padded line (length n + 2 * kPad).
Taps cubic_taps(int64_t n, int64_t m) {
  Taps taps;
  taps.width = 4;
  const int64_t padded = n + 2 * kPad;
  for (int64_t o = 0; o < m; ++o) {
    const double cc = source_coordinate(o, n, m) + static_cast<double>(kPad);
    const double f = std::floor(cc);
    const double t = cc - f;
    taps.start.push_back(std::clamp<int64_t>(static_cast<int64_t>(f) - 1, 0, padded - 4));
    const double u = 1.0 - t;
    taps.weights.push_back(u * u * u / 6.0);
    taps.weights.push_back((3.0 * t * t * t - 6.0 * t * t + 4.0) / 6.0);
    taps.weights.push_back((-3.0 * t * t * t + 3.0 * t * t + 3.0 * t + 1.0) / 6.0);
    taps.weights.push_back(t * t * t / 6.0);
  }
  return taps;
}

// In place: interpolation coefficients of `len` samples per lane (row-major [i][lane]), with
// scipy's boundary initialization for mode 'nearest' (half-sample symmetric).
void bspline3_prefilter(double* c, int64_t len, int64_t lanes) {
  const double z = kPole;
  for (int64_t i = 0; i < len * lanes; ++i) c[i] *= 6.0;  // gain (1 - z)(1 - 1/z)
  // Terms beyond |z|^40 (~1e-23) do not change a double.
  const int64_t horizon = std::min<int64_t>(len, 40);
  const double z_n = len < 40 ? std::pow(z, static_cast<double>(len)) : 0.0;
  for (int64_t l = 0; l < lanes; ++l) {
    const double c0 = c[l];
    double sum = c0 + z_n * c[(len - 1) * lanes + l];
    double z_i = z;
    for (int64_t i = 1; i < horizon; ++i) {
      sum += z_i * (c[i * lanes + l] + z_n * c[(len - 1 - i) * lanes + l]);
      z_i *= z;
    }
    c[l] = sum * z / (1.0 - z_n * z_n) + c0;
  }
  for (int64_t i = 1; i < len; ++i) {
    double* row = c + i * lanes;
    const double* prev = row - lanes;
    for (int64_t l = 0; l < lanes; ++l) row[l] += z * prev[l];
  }
  double* last = c + (len - 1) * lanes;
  for (int64_t l = 0; l < lanes; ++l) last[l] *= z / (z - 1.0);
  for (int64_t i = len - 2; i >= 0; --i) {
    double* row = c + i * lanes;
    const double* next = row + lanes;
    for (int64_t l = 0; l < lanes; ++l) row[l] = z * (next[l] - row[l]);
  }
}

// One chunk: `lanes` lines that start at in_base / out_base and step by in_lane / out_lane;
// elements along the axis step by in_step / out_step.
struct Chunk {
  int64_t in_base, in_step, in_lane;
  int64_t out_base, out_step, out_lane;
  int64_t lanes;
};

template <typename Load, typename Out>
void linear_chunk(const Load& load, Out* out, const Taps& taps, int64_t m, const Chunk& k) {
  for (int64_t o = 0; o < m; ++o) {
    const double w0 = taps.weights[2 * o], w1 = taps.weights[2 * o + 1];
    const int64_t a = k.in_base + taps.start[o] * k.in_step;
    const int64_t b = k.in_base + taps.next[o] * k.in_step;
    Out* dst = out + k.out_base + o * k.out_step;
    for (int64_t l = 0; l < k.lanes; ++l)
      dst[l * k.out_lane] =
          static_cast<Out>(w0 * load(a + l * k.in_lane) + w1 * load(b + l * k.in_lane));
  }
}

template <typename Load, typename Out>
void cubic_chunk(const Load& load, Out* out, const Taps& taps, int64_t n, int64_t m,
                 const Chunk& k) {
  thread_local std::vector<double> buffer;
  const int64_t len = n + 2 * kPad, lanes = k.lanes;
  buffer.resize(static_cast<size_t>(len * lanes));
  double* c = buffer.data();
  for (int64_t i = 0; i < n; ++i) {
    double* row = c + (i + kPad) * lanes;
    const int64_t base = k.in_base + i * k.in_step;
    for (int64_t l = 0; l < lanes; ++l) row[l] = load(base + l * k.in_lane);
  }
  for (int64_t i = 0; i < kPad; ++i) {
    std::copy_n(c + kPad * lanes, lanes, c + i * lanes);
    std::copy_n(c + (kPad + n - 1) * lanes, lanes, c + (kPad + n + i) * lanes);
  }
  bspline3_prefilter(c, len, lanes);
  for (int64_t o = 0; o < m; ++o) {
    const double* w = &taps.weights[4 * o];
    const double* r = c + taps.start[o] * lanes;
    Out* dst = out + k.out_base + o * k.out_step;
    for (int64_t l = 0; l < lanes; ++l)
      dst[l * k.out_lane] = static_cast<Out>(w[0] * r[l] + w[1] * r[lanes + l] +
                                             w[2] * r[2 * lanes + l] + w[3] * r[3 * lanes + l]);
  }
}

// Runs the order-1 or order-3 pass over every line of the (outer, n, inner) layout; the output
// has element type Out (float32 or float64).
template <typename Out, typename Load>
at::Tensor interpolate_axis(const Load& load, const at::Tensor& like, int64_t axis, int64_t m,
                            int order, int threads) {
  const Layout lay = layout_of(like, axis);
  std::vector<int64_t> out_shape(like.sizes().begin(), like.sizes().end());
  out_shape[axis] = m;
  at::Tensor out =
      torch::empty(out_shape, std::is_same<Out, float>::value ? torch::kFloat : torch::kDouble);
  Out* dst = out.data_ptr<Out>();
  const Taps taps = order == 1 ? linear_taps(lay.n, m) : cubic_taps(lay.n, m);
  // Along the last axis the lanes are consecutive lines; otherwise neighbouring inner offsets.
  const bool last = lay.inner == 1;
  const int64_t per_outer = last ? 1 : (lay.inner + kLanes - 1) / kLanes;
  const int64_t chunks = last ? (lay.outer + kLanes - 1) / kLanes : lay.outer * per_outer;
  parallel_for(static_cast<size_t>(chunks), threads, [&](size_t index) {
    const int64_t id = static_cast<int64_t>(index);
    Chunk k{};
    if (last) {
      const int64_t first = id * kLanes;
      k = {first * lay.n, 1, lay.n, first * m, 1, m, std::min(kLanes, lay.outer - first)};
    } else {
      const int64_t o = id / per_outer, first = (id % per_outer) * kLanes;
      k = {o * lay.n * lay.inner + first,      lay.inner, 1,
           o * m * lay.inner + first,          lay.inner, 1,
           std::min(kLanes, lay.inner - first)};
    }
    if (order == 1) {
      linear_chunk(load, dst, taps, m, k);
    } else {
      cubic_chunk(load, dst, taps, lay.n, m, k);
    }
  });
  return out;
}

void check_request(const at::Tensor& t, int64_t axis, int64_t m, int order, const char* what) {
  if (axis < 0 || axis >= t.dim())
    throw Error(what, "axis " + std::to_string(axis) + " out of range");
  if (m < 1) throw Error(what, "the new size must be at least 1, not " + std::to_string(m));
  if (t.size(axis) < 1) throw Error(what, "cannot resample an empty axis");
  if (order != 0 && order != 1 && order != 3)
    throw Error(what,
                "interpolation order " + std::to_string(order) + " is not supported (0, 1 or 3)");
}

}  // namespace

double source_coordinate(int64_t o, int64_t n_in, int64_t n_out) {
  const double zoom = static_cast<double>(n_in) / static_cast<double>(n_out);
  return (static_cast<double>(o) + 0.5) * zoom - 0.5;
}

std::vector<int64_t> nearest_source_indices(int64_t n_in, int64_t n_out) {
  std::vector<int64_t> idx(static_cast<size_t>(n_out));
  for (int64_t o = 0; o < n_out; ++o) {
    const auto i = static_cast<int64_t>(std::floor(source_coordinate(o, n_in, n_out) + 0.5));
    idx[o] = std::clamp<int64_t>(i, 0, n_in - 1);
  }
  return idx;
}

at::Tensor resample_axis(const at::Tensor& volume, int64_t axis, int64_t new_size, int order,
                         int threads) {
  check_request(volume, axis, new_size, order, "resample_axis");
  if (order == 0) {
    const auto idx = nearest_source_indices(volume.size(axis), new_size);
    return volume.index_select(axis, torch::tensor(idx, torch::kLong)).contiguous();
  }
  const at::Tensor in = volume.contiguous();
  if (in.scalar_type() == torch::kFloat) {
    if (in.size(axis) == new_size) return in.clone();
    const float* src = in.data_ptr<float>();
    return interpolate_axis<float>([src](int64_t i) { return static_cast<double>(src[i]); }, in,
                                   axis, new_size, order, threads);
  }
  if (in.scalar_type() == torch::kDouble) {
    if (in.size(axis) == new_size) return in.clone();
    const double* src = in.data_ptr<double>();
    return interpolate_axis<double>([src](int64_t i) { return src[i]; }, in, axis, new_size, order,
                                    threads);
  }
  throw Error("resample_axis", "orders 1 and 3 need a float32 or float64 volume");
}

at::Tensor resample_label_mask_axis(const at::Tensor& labels, int64_t value, int64_t axis,
                                    int64_t new_size, int order, int threads) {
  check_request(labels, axis, new_size, order, "resample_label_mask_axis");
  if (order == 0)
    return resample_axis(labels.eq(value).to(torch::kDouble), axis, new_size, 0, threads);
  const at::Tensor in = labels.contiguous();
  if (in.scalar_type() == torch::kShort) {
    const int16_t* src = in.data_ptr<int16_t>();
    return interpolate_axis<double>([src, value](int64_t i) { return src[i] == value ? 1.0 : 0.0; },
                                    in, axis, new_size, order, threads);
  }
  if (in.scalar_type() == torch::kInt) {
    const int32_t* src = in.data_ptr<int32_t>();
    return interpolate_axis<double>([src, value](int64_t i) { return src[i] == value ? 1.0 : 0.0; },
                                    in, axis, new_size, order, threads);
  }
  throw Error("resample_label_mask_axis", "labels must be int16 or int32");
}

}  // namespace medseg
