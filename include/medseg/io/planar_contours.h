// The outline of a 2D mask as closed polygons along pixel edges: the planar contours an RT
// Structure Set stores per slice. Testing pixel centres against all rings of a slice with the
// even-odd rule gives the mask back exactly; holes (and islands inside holes) are rings of their
// own, as RT readers expect.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace medseg {

struct PlanarRing {
  // Vertices in pixel-index coordinates (column, row): pixel (c, r) has its centre at (c, r) and
  // its corners at (c +- 0.5, r +- 0.5). Closed: the last vertex joins the first, which is not
  // repeated. Collinear vertices are merged.
  std::vector<std::array<double, 2>> points;
  // True for the boundary of a hole (its mask lies outside the ring), false for the outer
  // boundary of an island.
  bool hole = false;
};

// The rings of the pixels where mask != 0 (`rows` x `columns`, row by row), in the order of their
// first vertex in the raster. Pixels that touch only at a corner belong to different islands
// (4-connected foreground); there both rings cut that corner by kPlanarRingCornerCut pixels, so
// that no two rings share a point and every ring is simple. Pixel centres are never on a ring.
std::vector<PlanarRing> trace_planar_contours(const uint8_t* mask, int64_t rows, int64_t columns);

constexpr double kPlanarRingCornerCut = 0.25;

}  // namespace medseg
