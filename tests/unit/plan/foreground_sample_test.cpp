#include "medseg/plan/foreground_sample.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<uint64_t> draws(uint32_t seed, uint64_t n, int count) {
  NumpyLegacyRandom rng(seed);
  std::vector<uint64_t> out;
  for (int i = 0; i < count; ++i) out.push_back(rng.randint(n));
  return out;
}

TEST(NumpyLegacyRandom, ReproducesNumpyRandint) {
  // numpy: np.random.seed(0); np.random.randint(0, 10, 5) -> [5, 0, 3, 3, 7]. By hand: MT19937(0)
  // gives 2357136044, 2546248239, 3071714933, ...; masked with 15: 12 (> 9, retry), 15 (retry), 5.
  EXPECT_THAT(draws(0, 10, 5), ElementsAre(5, 0, 3, 3, 7));
  // np.random.seed(42); np.random.randint(0, 10, 5) -> [6, 3, 7, 4, 6].
  EXPECT_THAT(draws(42, 10, 5), ElementsAre(6, 3, 7, 4, 6));
}

TEST(NumpyLegacyRandom, CountedDrawsFollowTheSameStream) {
  NumpyLegacyRandom rng(0);
  std::vector<uint32_t> counts(10, 0);
  rng.count_draws(10, 5, counts.data());  // 5, 0, 3, 3, 7
  EXPECT_THAT(counts, ElementsAre(1, 0, 0, 2, 0, 1, 0, 1, 0, 0));
  EXPECT_EQ(rng.randint(10), draws(0, 10, 6).back());
  std::vector<uint32_t> one(1, 0);
  rng.count_draws(1, 7, one.data());
  EXPECT_EQ(one[0], 7u);
}

TEST(NumpyLegacyRandom, PopulationOfOneConsumesNoRandomNumbers) {
  NumpyLegacyRandom rng(0);
  EXPECT_EQ(rng.randint(1), 0u);
  EXPECT_EQ(rng.randint(10), 5u);  // still the first draw of the stream
  EXPECT_THROW(rng.randint(0), Error);
}

TEST(ForegroundSample, KeepsDistinctDrawnValuesWithCounts) {
  // Seed 0 over 10 values draws indices 5, 0, 3, 3, 7.
  const std::vector<float> values = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  NumpyLegacyRandom rng(0);
  const ForegroundSample s = sample_with_replacement(values.data(), 10, 5, rng);
  // 4 distinct values: 8 bytes each (32) is more than 4 bytes per draw (20): raw draws, sorted.
  EXPECT_THAT(s.values, ElementsAre(10, 13, 13, 15, 17));
  EXPECT_TRUE(s.cumulative.empty());
  EXPECT_EQ(s.size(), 5);
  EXPECT_EQ(s.count_at_most(13), 3);
}

TEST(ForegroundSample, CompactsRepeatedValues) {
  const std::vector<float> values = {2, 1, 2, 1};  // two distinct values drawn 1000 times
  NumpyLegacyRandom rng(1234);
  const ForegroundSample s = sample_with_replacement(values.data(), 4, 1000, rng);
  EXPECT_THAT(s.values, ElementsAre(1, 2));
  ASSERT_EQ(s.cumulative.size(), 2u);
  EXPECT_EQ(s.cumulative.back(), 1000u);
  EXPECT_EQ(s.size(), 1000);
  EXPECT_EQ(s.count_at_most(0.5f), 0);
  EXPECT_EQ(s.count_at_most(1.0f), static_cast<int64_t>(s.cumulative[0]));
  EXPECT_EQ(s.count_at_most(7.0f), 1000);
}

TEST(ForegroundSample, EmptyForegroundDrawsNothing) {
  NumpyLegacyRandom rng(0);
  EXPECT_EQ(sample_with_replacement(nullptr, 0, 100, rng).size(), 0);
  EXPECT_EQ(rng.randint(10), 5u);  // the stream was not touched
}

TEST(PooledIntensityProperties, StatisticsOfAllDrawsTogether) {
  ForegroundSample a;  // draws 1, 2, 3, 3 (compact form)
  a.values = {1, 2, 3};
  a.cumulative = {1, 2, 4};
  ForegroundSample b;  // draws 4, 10 (raw form)
  b.values = {4, 10};
  ForegroundSample empty;
  // Pooled: 1 2 3 3 4 10 (n = 6). mean 23/6; squared deviations sum to 50.8333 -> std
  // sqrt(50.8333 / 6). Linear percentiles at (n - 1) q: median at 2.5 -> (3 + 3) / 2 = 3;
  // 0.5% at 0.025 -> 1 + 0.025 * (2 - 1) = 1.025; 99.5% at 4.975 -> 10 - 0.025 * (10 - 4) = 9.85.
  const IntensityProperties p = pooled_intensity_properties({&a, &empty, &b});
  EXPECT_DOUBLE_EQ(p.mean, 23.0 / 6.0);
  EXPECT_NEAR(p.std, std::sqrt((50.0 + 5.0 / 6.0) / 6.0), 1e-12);
  EXPECT_DOUBLE_EQ(p.min, 1);
  EXPECT_DOUBLE_EQ(p.max, 10);
  EXPECT_DOUBLE_EQ(p.median, 3);
  EXPECT_NEAR(p.percentile_00_5, 1.025, 1e-12);
  EXPECT_NEAR(p.percentile_99_5, 9.85, 1e-12);
}

TEST(PooledIntensityProperties, NegativeValuesAndSingleDraw) {
  ForegroundSample a;
  a.values = {-5.5f};
  const IntensityProperties p = pooled_intensity_properties({&a});
  EXPECT_DOUBLE_EQ(p.median, -5.5);
  EXPECT_DOUBLE_EQ(p.percentile_00_5, -5.5);
  EXPECT_DOUBLE_EQ(p.std, 0);
  ForegroundSample b;
  b.values = {-3, -1, 0, 2};
  // sorted -3 -1 0 2: median at 1.5 -> (-1 + 0) / 2 = -0.5.
  EXPECT_DOUBLE_EQ(pooled_intensity_properties({&b}).median, -0.5);
}

TEST(PooledIntensityProperties, NoForegroundAnywhereIsAnError) {
  ForegroundSample empty;
  try {
    pooled_intensity_properties({&empty});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no foreground voxels (label > 0) in any training case"));
  }
}

}  // namespace
}  // namespace medseg
