#include "medseg/io/planar_contours.h"

#include <string>

#include "medseg/core/error.h"

namespace medseg {

namespace {

// Directions along the grid of pixel corners, clockwise on the screen (rows grow downwards):
// east, south, west, north. A boundary edge runs with its foreground pixel on its right.
constexpr int kContourStepX[4] = {1, 0, -1, 0};
constexpr int kContourStepY[4] = {0, 1, 0, -1};

double contour_signed_area(const std::vector<std::array<double, 2>>& p) {
  double twice = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const auto& a = p[i];
    const auto& b = p[(i + 1) % p.size()];
    twice += a[0] * b[1] - b[0] * a[1];
  }
  return twice / 2;
}

}  // namespace

std::vector<PlanarRing> trace_planar_contours(const uint8_t* mask, int64_t rows, int64_t columns) {
  if (rows < 0 || columns < 0)
    throw Error("trace_planar_contours",
                "negative mask size " + std::to_string(rows) + " x " + std::to_string(columns));
  const int64_t width = columns + 1;  // corner (x, y) is the top-left corner of pixel (x, y)
  const auto corner = [width](int64_t x, int64_t y) { return y * width + x; };
  const auto inside = [&](int64_t x, int64_t y) {
    return x >= 0 && y >= 0 && x < columns && y < rows && mask[y * columns + x] != 0;
  };
  // Bit d of edges[c]: a boundary edge leaves corner c in direction d. A corner has one such edge,
  // or two where only diagonal pixels around it are foreground (a saddle).
  std::vector<uint8_t> edges(static_cast<size_t>(width * (rows + 1)), 0);
  for (int64_t y = 0; y < rows; ++y) {
    for (int64_t x = 0; x < columns; ++x) {
      if (!inside(x, y)) continue;
      if (!inside(x, y - 1)) edges[corner(x, y)] |= 1;          // top, eastwards
      if (!inside(x + 1, y)) edges[corner(x + 1, y)] |= 2;      // right, southwards
      if (!inside(x, y + 1)) edges[corner(x + 1, y + 1)] |= 4;  // bottom, westwards
      if (!inside(x - 1, y)) edges[corner(x, y + 1)] |= 8;      // left, northwards
    }
  }
  std::vector<uint8_t> unused = edges;
  std::vector<PlanarRing> rings;
  for (int64_t y0 = 0; y0 <= rows; ++y0) {
    for (int64_t x0 = 0; x0 <= columns; ++x0) {
      while (unused[corner(x0, y0)] != 0) {
        int d0 = 0;
        while (!(unused[corner(x0, y0)] & (1 << d0))) ++d0;
        PlanarRing ring;
        // The point(s) at corner (x, y) entered in direction `in` and left in direction `out`.
        const auto add_corner = [&](int64_t x, int64_t y, int in, int out, bool saddle) {
          const double cx = static_cast<double>(x) - 0.5, cy = static_cast<double>(y) - 0.5;
          if (!saddle) {
            ring.points.push_back({cx, cy});
            return;
          }
          ring.points.push_back({cx - kPlanarRingCornerCut * kContourStepX[in],
                                 cy - kPlanarRingCornerCut * kContourStepY[in]});
          ring.points.push_back({cx + kPlanarRingCornerCut * kContourStepX[out],
                                 cy + kPlanarRingCornerCut * kContourStepY[out]});
        };
        int64_t x = x0, y = y0;
        int d = d0;
        while (true) {
          unused[corner(x, y)] &= static_cast<uint8_t>(~(1 << d));
          x += kContourStepX[d];
          y += kContourStepY[d];
          const uint8_t out = edges[corner(x, y)];
          const bool saddle = out != 1 && out != 2 && out != 4 && out != 8;
          // At a saddle turn right, around the pixel just passed: diagonal pixels stay apart.
          int next = (d + 1) % 4;
          if (!saddle) {
            next = 0;
            while (!(out & (1 << next))) ++next;
          }
          if (next != d) add_corner(x, y, d, next, saddle);
          if (x == x0 && y == y0 && next == d0) break;
          d = next;
        }
        // The start corner's point was added last: put it first, as the raster found it.
        if (!ring.points.empty() && ring.points.back()[0] == static_cast<double>(x0) - 0.5 &&
            ring.points.back()[1] == static_cast<double>(y0) - 0.5) {
          ring.points.insert(ring.points.begin(), ring.points.back());
          ring.points.pop_back();
        }
        ring.hole = contour_signed_area(ring.points) < 0;
        rings.push_back(std::move(ring));
      }
    }
  }
  return rings;
}

}  // namespace medseg
