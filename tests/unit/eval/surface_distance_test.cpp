#include "medseg/eval/surface_distance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "unit/eval/box_mask.h"

namespace medseg {
namespace {

using testing::box_mask;

int count(const std::vector<uint8_t>& m) {
  return static_cast<int>(std::count(m.begin(), m.end(), 1));
}

TEST(SurfaceMask, CubeInteriorIsNotSurface) {
  const VolumeShape s{5, 5, 5};
  const auto cube = box_mask(s, {{1, 1, 1}, {4, 4, 4}});
  const auto surface = surface_mask(cube.data(), s);
  EXPECT_EQ(count(surface), 26);
  EXPECT_EQ(surface[s.index(2, 2, 2)], 0);
  EXPECT_EQ(surface[s.index(1, 2, 2)], 1);
}

TEST(SurfaceMask, ImageBorderCountsAsOutside) {
  const VolumeShape s{3, 3, 3};
  const std::vector<uint8_t> full(27, 1);
  const auto surface = surface_mask(full.data(), s);
  EXPECT_EQ(count(surface), 26);
  EXPECT_EQ(surface[s.index(1, 1, 1)], 0);
}

TEST(SurfaceMask, AxisOfExtentOneHasNoNeighbours) {
  // A 2D image (z = 1): the 3x3 square's centre pixel is interior, not surface.
  const VolumeShape s{1, 5, 5};
  const auto square = box_mask(s, {{0, 1, 1}, {1, 4, 4}});
  const auto surface = surface_mask(square.data(), s);
  EXPECT_EQ(count(surface), 8);
  EXPECT_EQ(surface[s.index(0, 2, 2)], 0);
}

TEST(UnionBoundingBox, CoversBothMasks) {
  const VolumeShape s{6, 6, 6};
  const auto a = box_mask(s, {{1, 2, 3}, {2, 3, 4}});
  const auto b = box_mask(s, {{4, 0, 1}, {5, 2, 2}});
  const VoxelBox box = union_bounding_box(a.data(), b.data(), s);
  EXPECT_EQ(box.lo, (std::array<int64_t, 3>{1, 0, 1}));
  EXPECT_EQ(box.hi, (std::array<int64_t, 3>{5, 3, 4}));
  const std::vector<uint8_t> empty(216, 0);
  EXPECT_TRUE(union_bounding_box(empty.data(), empty.data(), s).empty());
}

TEST(DistancePercentile, InterpolatesLinearlyLikeNumpy) {
  EXPECT_DOUBLE_EQ(distance_percentile({4, 0, 3, 1, 2}, 95),
                   3.8);  // numpy.percentile(range(5), 95)
  EXPECT_DOUBLE_EQ(distance_percentile({1, 2, 3, 4}, 95), 3.85);
  EXPECT_DOUBLE_EQ(distance_percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(distance_percentile({7}, 95), 7.0);
  EXPECT_DOUBLE_EQ(distance_percentile({5, 1}, 100), 5.0);
  EXPECT_TRUE(std::isnan(distance_percentile({}, 95)));
}

TEST(SurfaceDistances, TowardsAnEmptyMaskAreInfinite) {
  const VolumeShape s{3, 3, 3};
  const auto a = box_mask(s, {{1, 1, 1}, {2, 2, 2}});
  const std::vector<uint8_t> empty(27, 0);
  const SurfaceDistances d = surface_distances(a.data(), empty.data(), s, {1, 1, 1});
  ASSERT_EQ(d.ref_to_pred.size(), 1u);
  EXPECT_TRUE(std::isinf(d.ref_to_pred[0]));
  EXPECT_TRUE(d.pred_to_ref.empty());
}

// ---- the whole chain against an all-pairs implementation written independently ----

bool brute_is_surface(const std::vector<uint8_t>& m, const VolumeShape& s, int64_t z, int64_t y,
                      int64_t x) {
  if (!m[s.index(z, y, x)]) return false;
  const int64_t n[3] = {s.z, s.y, s.x};
  const int64_t p[3] = {z, y, x};
  for (int a = 0; a < 3; ++a) {
    if (n[a] == 1) continue;
    for (int step : {-1, 1}) {
      int64_t q[3] = {p[0], p[1], p[2]};
      q[a] += step;
      if (q[a] < 0 || q[a] >= n[a] || !m[s.index(q[0], q[1], q[2])]) return true;
    }
  }
  return false;
}

std::vector<std::array<int64_t, 3>> brute_surface(const std::vector<uint8_t>& m,
                                                  const VolumeShape& s) {
  std::vector<std::array<int64_t, 3>> out;
  for (int64_t z = 0; z < s.z; ++z)
    for (int64_t y = 0; y < s.y; ++y)
      for (int64_t x = 0; x < s.x; ++x)
        if (brute_is_surface(m, s, z, y, x)) out.push_back({z, y, x});
  return out;
}

std::vector<double> brute_directed(const std::vector<std::array<int64_t, 3>>& from,
                                   const std::vector<std::array<int64_t, 3>>& to,
                                   const Spacing3& sp) {
  std::vector<double> out;
  for (const auto& a : from) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& b : to) {
      double sum = 0;
      for (int k = 0; k < 3; ++k) sum += std::pow((a[k] - b[k]) * sp[k], 2);
      best = std::min(best, std::sqrt(sum));
    }
    out.push_back(best);
  }
  return out;
}

double sorted_percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double rank = (v.size() - 1) * q / 100.0;
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (rank - lo) * (v[hi] - v[lo]);
}

// A few random blobs: voxels within a random radius of a few random centres.
std::vector<uint8_t> random_blobs(const VolumeShape& s, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint8_t> m(static_cast<size_t>(s.size()), 0);
  for (int b = 0; b < 3; ++b) {
    const double cz = u(rng) * s.z, cy = u(rng) * s.y, cx = u(rng) * s.x, r = 0.8 + 2.5 * u(rng);
    for (int64_t z = 0; z < s.z; ++z)
      for (int64_t y = 0; y < s.y; ++y)
        for (int64_t x = 0; x < s.x; ++x)
          if (std::pow(z - cz, 2) + std::pow(y - cy, 2) + std::pow(x - cx, 2) <= r * r)
            m[s.index(z, y, x)] = 1;
  }
  if (count(m) == 0) m[0] = 1;
  return m;
}

TEST(SurfaceScores, MatchAllPairsBruteForceOnRandomShapes) {
  const std::vector<VolumeShape> shapes{{6, 9, 8}, {1, 12, 10}, {10, 7, 5}};
  const std::vector<Spacing3> spacings{{1, 1, 1}, {3.0, 0.8, 0.8}, {2.0, 1.0, 0.5}};
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    const VolumeShape& s = shapes[seed % shapes.size()];
    const Spacing3& sp = spacings[(seed / 3) % spacings.size()];
    const auto a = random_blobs(s, rng), b = random_blobs(s, rng);
    const auto sa = brute_surface(a, s), sb = brute_surface(b, s);
    const auto ab = brute_directed(sa, sb, sp), ba = brute_directed(sb, sa, sp);

    const SurfaceDistances d = surface_distances(a.data(), b.data(), s, sp);
    ASSERT_EQ(d.ref_to_pred.size(), ab.size()) << "seed " << seed;
    ASSERT_EQ(d.pred_to_ref.size(), ba.size()) << "seed " << seed;
    for (size_t i = 0; i < ab.size(); ++i) EXPECT_NEAR(d.ref_to_pred[i], ab[i], 1e-9);
    for (size_t i = 0; i < ba.size(); ++i) EXPECT_NEAR(d.pred_to_ref[i], ba[i], 1e-9);

    const double tau = 1.5;
    const SurfaceScores scores = score_surface_distances(d, tau);
    std::vector<double> all = ab;
    all.insert(all.end(), ba.begin(), ba.end());
    double sum = 0;
    int within = 0;
    for (double v : all) sum += v, within += v <= tau;
    EXPECT_NEAR(scores.hd95, std::max(sorted_percentile(ab, 95), sorted_percentile(ba, 95)), 1e-9)
        << "seed " << seed;
    EXPECT_NEAR(scores.hd, *std::max_element(all.begin(), all.end()), 1e-9) << "seed " << seed;
    EXPECT_NEAR(scores.assd, sum / all.size(), 1e-9) << "seed " << seed;
    EXPECT_NEAR(scores.nsd, double(within) / all.size(), 1e-12) << "seed " << seed;
  }
}

}  // namespace
}  // namespace medseg
