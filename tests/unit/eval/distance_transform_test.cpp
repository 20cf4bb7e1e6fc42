#include "medseg/eval/distance_transform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace medseg {
namespace {

// Distance from every voxel to the nearest nonzero voxel, by trying them all.
std::vector<double> brute_force(const std::vector<uint8_t>& mask, const VolumeShape& s,
                                const Spacing3& sp) {
  std::vector<double> out(mask.size(), std::numeric_limits<double>::infinity());
  for (int64_t z = 0; z < s.z; ++z)
    for (int64_t y = 0; y < s.y; ++y)
      for (int64_t x = 0; x < s.x; ++x)
        for (int64_t qz = 0; qz < s.z; ++qz)
          for (int64_t qy = 0; qy < s.y; ++qy)
            for (int64_t qx = 0; qx < s.x; ++qx) {
              if (!mask[s.index(qz, qy, qx)]) continue;
              const double dz = (z - qz) * sp[0], dy = (y - qy) * sp[1], dx = (x - qx) * sp[2];
              double& d = out[s.index(z, y, x)];
              d = std::min(d, std::sqrt(dz * dz + dy * dy + dx * dx));
            }
  return out;
}

std::vector<uint8_t> random_mask(const VolumeShape& s, double density, uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution on(density);
  std::vector<uint8_t> mask(static_cast<size_t>(s.size()));
  for (auto& m : mask) m = on(rng) ? 1 : 0;
  return mask;
}

TEST(DistanceTransform, SingleSiteGivesAnisotropicDistances) {
  const VolumeShape s{3, 4, 5};
  std::vector<uint8_t> mask(s.size(), 0);
  mask[s.index(0, 0, 0)] = 1;
  const std::vector<double> d = distance_transform(mask.data(), s, {3.0, 2.0, 0.5});
  EXPECT_DOUBLE_EQ(d[s.index(0, 0, 0)], 0.0);
  EXPECT_DOUBLE_EQ(d[s.index(0, 0, 4)], 2.0);
  EXPECT_DOUBLE_EQ(d[s.index(0, 3, 0)], 6.0);
  EXPECT_DOUBLE_EQ(d[s.index(2, 0, 0)], 6.0);
  EXPECT_DOUBLE_EQ(d[s.index(1, 1, 2)], std::sqrt(9.0 + 4.0 + 1.0));
}

TEST(DistanceTransform, EmptyMaskIsInfiniteEverywhere) {
  const VolumeShape s{2, 3, 4};
  std::vector<uint8_t> mask(s.size(), 0);
  for (double d : distance_transform(mask.data(), s, {1.0, 1.0, 1.0})) EXPECT_TRUE(std::isinf(d));
}

TEST(DistanceTransform, MatchesBruteForceOnRandomAnisotropicMasks) {
  const std::vector<VolumeShape> shapes{{5, 7, 6}, {1, 9, 8}, {6, 1, 7}, {7, 5, 1}, {4, 6, 9}};
  const std::vector<Spacing3> spacings{{2.5, 1.0, 0.7}, {1.0, 0.3, 1.9}, {0.8, 2.0, 2.0}};
  uint32_t seed = 1;
  for (const VolumeShape& s : shapes)
    for (const Spacing3& sp : spacings)
      for (double density : {0.02, 0.15, 0.6}) {
        const std::vector<uint8_t> mask = random_mask(s, density, seed++);
        const std::vector<double> fast = distance_transform(mask.data(), s, sp);
        const std::vector<double> slow = brute_force(mask, s, sp);
        for (size_t i = 0; i < fast.size(); ++i) {
          if (std::isinf(slow[i])) {
            EXPECT_TRUE(std::isinf(fast[i])) << "voxel " << i << " seed " << seed - 1;
          } else {
            ASSERT_NEAR(fast[i], slow[i], 1e-9) << "voxel " << i << " seed " << seed - 1;
          }
        }
      }
}

}  // namespace
}  // namespace medseg
