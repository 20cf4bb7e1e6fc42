#include "medseg/eval/distance_transform.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace medseg {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Lines handled together along y and z: the strided gathers then read whole cache lines
// instead of one double per line (strides of powers of two would thrash the cache sets).
constexpr int64_t kBlock = 16;

// Along x (contiguous): distance in voxels to the nearest nonzero voxel of the row, two scans.
void transform_rows(const uint8_t* mask, const VolumeShape& shape, double step, double* out) {
  const int64_t n = shape.x;
  for (int64_t row = 0; row < shape.z * shape.y; ++row) {
    const uint8_t* m = mask + row * n;
    double* o = out + row * n;
    int64_t last = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (m[i]) last = i;
      o[i] = last < 0 ? kInf : static_cast<double>(i - last);
    }
    if (last < 0) continue;  // no site on this row: all infinite
    last = -1;
    for (int64_t i = n - 1; i >= 0; --i) {
      if (m[i]) last = i;
      if (last >= 0) o[i] = std::min(o[i], static_cast<double>(last - i));
      const double mm = o[i] * step;
      o[i] = mm * mm;
    }
  }
}

// Reused buffers of the 1D lower-envelope transform.
struct LineWorkspace {
  std::vector<double> f, g, z, d;
  std::vector<int64_t> v;
  explicit LineWorkspace(int64_t n) : f(n), g(n), z(n + 1), d(n), v(n) {}
};

// d[p] = min_q ((p - q) * step)^2 + f[q] over the n samples of one line; false when every f is
// infinite (d is then left untouched and the line stays infinite).
bool lower_envelope(int64_t n, double step, LineWorkspace& w) {
  const double* f = w.f.data();
  double* g = w.g.data();
  double* z = w.z.data();
  int64_t* v = w.v.data();
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    const double pos = q * step;
    g[q] = f[q] + pos * pos;
    double cross = -kInf;
    while (k >= 0) {
      const int64_t p = v[k];
      cross = (g[q] - g[p]) / (2.0 * step * static_cast<double>(q - p));
      if (cross > z[k]) break;
      --k;  // the new parabola hides parabola v[k] entirely
    }
    ++k;
    v[k] = q;
    z[k] = k == 0 ? -kInf : cross;
    z[k + 1] = kInf;
  }
  if (k < 0) return false;
  int64_t j = 0;
  for (int64_t p = 0; p < n; ++p) {
    const double x = p * step;
    while (z[j + 1] < x) ++j;
    const double dx = x - v[j] * step;
    w.d[p] = dx * dx + f[v[j]];
  }
  return true;
}

// One pass along an axis of `lines` samples spaced `stride` apart: the data is `outer` blocks
// of lines * stride values, and each block holds `stride` lines side by side.
void transform_axis(double* data, int64_t outer, int64_t lines, int64_t stride, double step) {
  LineWorkspace w(lines);
  std::vector<double> block(kBlock * lines);
  for (int64_t o = 0; o < outer; ++o) {
    double* base = data + o * lines * stride;
    for (int64_t c0 = 0; c0 < stride; c0 += kBlock) {
      const int64_t width = std::min(kBlock, stride - c0);
      for (int64_t i = 0; i < lines; ++i) {
        const double* src = base + i * stride + c0;
        for (int64_t c = 0; c < width; ++c) block[c * lines + i] = src[c];
      }
      for (int64_t c = 0; c < width; ++c) {
        double* line = block.data() + c * lines;
        std::copy(line, line + lines, w.f.begin());
        if (lower_envelope(lines, step, w)) std::copy(w.d.begin(), w.d.end(), line);
      }
      for (int64_t i = 0; i < lines; ++i) {
        double* dst = base + i * stride + c0;
        for (int64_t c = 0; c < width; ++c) dst[c] = block[c * lines + i];
      }
    }
  }
}

}  // namespace

void squared_distance_transform(const uint8_t* mask, const VolumeShape& shape,
                                const Spacing3& spacing, double* out) {
  if (shape.size() == 0) return;
  transform_rows(mask, shape, spacing[2], out);
  if (shape.y > 1) transform_axis(out, shape.z, shape.y, shape.x, spacing[1]);
  if (shape.z > 1) transform_axis(out, 1, shape.z, shape.y * shape.x, spacing[0]);
}

std::vector<double> distance_transform(const uint8_t* mask, const VolumeShape& shape,
                                       const Spacing3& spacing) {
  std::vector<double> out(static_cast<size_t>(shape.size()));
  squared_distance_transform(mask, shape, spacing, out.data());
  for (double& d : out) d = std::sqrt(d);
  return out;
}

}  // namespace medseg
