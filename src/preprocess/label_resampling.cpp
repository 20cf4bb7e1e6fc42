#include "medseg/preprocess/label_resampling.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/core/parallel.h"

namespace medseg {

namespace {

// Per output voxel along one axis: the two input indices and their weights, computed as scipy's
// zoom does in mode 'nearest' (the coordinate is not clamped; the indices are, and the second
// weight is 1 minus the first).
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<double> w0, w1;
  std::vector<int>
      nearest;  // 0: i0 is the nearest neighbour (scipy order 0: floor(c + 0.5)), 1: i1
};

AxisTaps axis_taps(int64_t n, int64_t m) {
  AxisTaps taps;
  const double zoom = static_cast<double>(n) / static_cast<double>(m);
  for (int64_t o = 0; o < m; ++o) {
    const double cc = (static_cast<double>(o) + 0.5) * zoom - 0.5;
    const double f = std::floor(cc);
    const double w0 = 1.0 - (cc - f);
    const auto start = static_cast<int64_t>(f);
    taps.i0.push_back(std::clamp<int64_t>(start, 0, n - 1));
    taps.i1.push_back(std::clamp<int64_t>(start + 1, 0, n - 1));
    taps.w0.push_back(w0);
    taps.w1.push_back(1.0 - w0);
    taps.nearest.push_back(std::floor(cc + 0.5) > f ? 1 : 0);
  }
  return taps;
}

// The label of one output voxel from its 8 corner labels and weights (C order, last axis
// fastest), as batchgenerators' resize_segmentation decides it in 0.25.5 (the reference's
// pip install): each distinct label's weight is summed in corner order from 0 (its
// interpolated mask, bit for bit), the largest sum wins, and an exact tie goes to the nearest
// neighbour's label when that is one of the tied labels, else to the smallest tied label.
int16_t decide(const std::array<int16_t, 8>& label, const std::array<double, 8>& weight,
               int16_t nearest) {
  bool uniform = true;
  for (int k = 1; k < 8; ++k) uniform &= label[k] == label[0];
  if (uniform) return label[0];
  std::array<int16_t, 8> distinct{};
  std::array<double, 8> sum{};
  int count = 0;
  for (int k = 0; k < 8; ++k) {
    int slot = 0;
    while (slot < count && distinct[slot] != label[k]) ++slot;
    if (slot == count) {
      distinct[count] = label[k];
      sum[count++] = 0.0;
    }
    sum[slot] += weight[k];
  }
  double top = 0;
  for (int s = 0; s < count; ++s) top = std::max(top, sum[s]);
  bool found = false;
  int16_t lowest = 0;
  for (int s = 0; s < count; ++s) {
    if (sum[s] != top) continue;
    if (distinct[s] == nearest) return nearest;
    if (!found || distinct[s] < lowest) lowest = distinct[s];
    found = true;
  }
  return lowest;
}

}  // namespace

at::Tensor resample_labels_linear(const at::Tensor& labels, const std::vector<int64_t>& new_shape,
                                  int threads) {
  if (labels.scalar_type() != torch::kShort)
    throw Error("resample_labels_linear", "labels must be int16");
  if (labels.dim() < 1 || labels.dim() > 3 ||
      static_cast<int64_t>(new_shape.size()) != labels.dim())
    throw Error("resample_labels_linear", "labels need 1 to 3 axes and a new shape with as many");
  // As 3D: leading axes of size 1 resample to themselves with weights (1, 0).
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1};
  const int64_t offset = 3 - labels.dim();
  for (int64_t d = 0; d < labels.dim(); ++d) {
    in[offset + d] = labels.size(d);
    out[offset + d] = new_shape[d];
  }
  const at::Tensor src_tensor = labels.contiguous();
  const int16_t* src = src_tensor.data_ptr<int16_t>();
  at::Tensor result = torch::empty(new_shape, torch::kShort);
  int16_t* dst = result.data_ptr<int16_t>();
  const AxisTaps tz = axis_taps(in[0], out[0]), ty = axis_taps(in[1], out[1]),
                 tx = axis_taps(in[2], out[2]);
  const int64_t plane = in[1] * in[2];
  parallel_for(static_cast<size_t>(out[0]), threads, [&](size_t z_index) {
    const auto z = static_cast<int64_t>(z_index);
    const int64_t zs[2] = {tz.i0[z] * plane, tz.i1[z] * plane};
    const double wz[2] = {tz.w0[z], tz.w1[z]};
    for (int64_t y = 0; y < out[1]; ++y) {
      const int64_t ys[2] = {ty.i0[y] * in[2], ty.i1[y] * in[2]};
      const double wy[2] = {ty.w0[y], ty.w1[y]};
      int16_t* row = dst + (z * out[1] + y) * out[2];
      for (int64_t x = 0; x < out[2]; ++x) {
        const int64_t xs[2] = {tx.i0[x], tx.i1[x]};
        const int16_t nearest = src[zs[tz.nearest[z]] + ys[ty.nearest[y]] + xs[tx.nearest[x]]];
        const double wx[2] = {tx.w0[x], tx.w1[x]};
        std::array<int16_t, 8> label;
        std::array<double, 8> weight;
        for (int k = 0; k < 8; ++k) {
          const int a = k >> 2, b = (k >> 1) & 1, c = k & 1;
          label[k] = src[zs[a] + ys[b] + xs[c]];
          double w = 1.0;  // the mask value, times each axis's weight in axis order
          w *= wz[a];
          w *= wy[b];
          w *= wx[c];
          weight[k] = w;
        }
        row[x] = decide(label, weight, nearest);
      }
    }
  });
  return result;
}

}  // namespace medseg
