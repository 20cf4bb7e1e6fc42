#include "medseg/io/planar_contours.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "support/error_of.h"

namespace medseg {
namespace {

using Points = std::vector<std::array<double, 2>>;

std::vector<uint8_t> contour_mask(const std::vector<std::string>& rows) {
  std::vector<uint8_t> m;
  for (const auto& r : rows)
    for (const char c : r) m.push_back(c == '#' ? 1 : 0);
  return m;
}

// The even-odd fill of all rings at pixel centres (crossing number along +column).
std::vector<uint8_t> contour_fill(const std::vector<PlanarRing>& rings, int64_t rows,
                                  int64_t columns) {
  std::vector<uint8_t> m(static_cast<size_t>(rows * columns), 0);
  for (const auto& ring : rings) {
    const Points& p = ring.points;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < columns; ++c)
        for (size_t i = 0; i < p.size(); ++i) {
          const auto& a = p[i];
          const auto& b = p[(i + 1) % p.size()];
          if ((a[1] > r) == (b[1] > r)) continue;
          const double x = a[0] + (r - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
          if (c < x) m[r * columns + c] ^= 1;
        }
  }
  return m;
}

TEST(PlanarContours, BoxIsItsFourCornersAlongPixelEdges) {
  const auto m = contour_mask({"....", ".##.", ".##.", ".##.", "...."});
  const auto rings = trace_planar_contours(m.data(), 5, 4);
  ASSERT_EQ(rings.size(), 1u);
  EXPECT_FALSE(rings[0].hole);
  const Points expected = {{0.5, 0.5}, {2.5, 0.5}, {2.5, 3.5}, {0.5, 3.5}};
  EXPECT_EQ(rings[0].points, expected);
}

TEST(PlanarContours, HoleAndIslandInTheHoleAreRingsOfTheirOwn) {
  const std::vector<std::string> rows = {"#######", "#.....#", "#.###.#", "#.#.#.#",
                                         "#.###.#", "#.....#", "#######"};
  const auto m = contour_mask(rows);
  const auto rings = trace_planar_contours(m.data(), 7, 7);
  // Outer boundary, hole, the island's outer boundary, the island's hole.
  ASSERT_EQ(rings.size(), 4u);
  int holes = 0;
  for (const auto& r : rings) {
    holes += r.hole;
    EXPECT_EQ(r.points.size(), 4u);  // squares: collinear vertices merged
  }
  EXPECT_EQ(holes, 2);
  EXPECT_EQ(contour_fill(rings, 7, 7), m);
}

TEST(PlanarContours, DiagonalNeighboursAreSeparateIslandsWithCutCorners) {
  const auto m = contour_mask({"#.", ".#"});
  const auto rings = trace_planar_contours(m.data(), 2, 2);
  ASSERT_EQ(rings.size(), 2u);
  EXPECT_FALSE(rings[0].hole);
  EXPECT_FALSE(rings[1].hole);
  // Pixel (0, 0): its corner at (0.5, 0.5), shared with pixel (1, 1), is cut by 0.25.
  const Points first = {{-0.5, -0.5}, {0.5, -0.5}, {0.5, 0.25}, {0.25, 0.5}, {-0.5, 0.5}};
  EXPECT_EQ(rings[0].points, first);
  for (const auto& p : rings[1].points) EXPECT_FALSE(p[0] == 0.5 && p[1] == 0.5);
  EXPECT_EQ(contour_fill(rings, 2, 2), m);
}

TEST(PlanarContours, EvenOddFillGivesRandomMasksBackExactly) {
  std::mt19937 rng(24);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t rows = 1 + static_cast<int64_t>(rng() % 17);
    const int64_t columns = 1 + static_cast<int64_t>(rng() % 19);
    const unsigned density = 1 + rng() % 3;  // sparse to dense: islands, holes, saddles
    std::vector<uint8_t> m(static_cast<size_t>(rows * columns));
    for (auto& v : m) v = (rng() % 4) < density ? 1 : 0;
    const auto rings = trace_planar_contours(m.data(), rows, columns);
    EXPECT_EQ(contour_fill(rings, rows, columns), m) << "trial " << trial;
    for (const auto& r : rings) {
      ASSERT_GE(r.points.size(), 4u);
      // Simple rings: no vertex repeated within a ring.
      for (size_t i = 0; i < r.points.size(); ++i)
        for (size_t j = i + 1; j < r.points.size(); ++j) ASSERT_NE(r.points[i], r.points[j]);
    }
  }
}

TEST(PlanarContours, EmptyMaskHasNoRing) {
  const std::vector<uint8_t> m(12, 0);
  EXPECT_TRUE(trace_planar_contours(m.data(), 3, 4).empty());
}

TEST(PlanarContours, NegativeSizeIsAnError) {
  const std::vector<uint8_t> m(12, 0);
  EXPECT_EQ(testing::error_of([&] { trace_planar_contours(m.data(), -3, 4); }),
            "trace_planar_contours: negative mask size -3 x 4");
}

}  // namespace
}  // namespace medseg
