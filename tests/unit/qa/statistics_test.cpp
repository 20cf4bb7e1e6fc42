#include "medseg/qa/statistics.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "support/error_of.h"

namespace medseg {
namespace {

using testing::error_of;

// Expected numbers: scipy 1.17.1 / numpy 2.4.6 (the reference venv, .deps/nnunetv2-2.6.0):
// D = scipy.stats.ks_2samp(a, b).statistic, p = scipy.stats.kstwobign.sf(sqrt(n*m/(n+m)) * D).

TEST(KsTwoSample, IdenticalSamplesGiveZeroAndOne) {
  const KsResult r = ks_two_sample({1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}, "spacing");
  EXPECT_DOUBLE_EQ(r.statistic, 0.0);
  EXPECT_DOUBLE_EQ(r.p_value, 1.0);
}

TEST(KsTwoSample, DisjointSamplesGiveOneAndASmallP) {
  const KsResult r = ks_two_sample({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10, 11}, "spacing");
  EXPECT_DOUBLE_EQ(r.statistic, 1.0);
  EXPECT_NEAR(r.p_value, 0.008553640029282421, 1e-12);  // kstwobign.sf(sqrt(30/11))
  // The order of the samples does not matter.
  const KsResult swapped = ks_two_sample({6, 7, 8, 9, 10, 11}, {1, 2, 3, 4, 5}, "spacing");
  EXPECT_DOUBLE_EQ(swapped.statistic, 1.0);
  EXPECT_DOUBLE_EQ(swapped.p_value, r.p_value);
}

TEST(KsTwoSample, TiesMoveBothDistributionsTogether) {
  // At 2: F_a = 3/6, F_b = 1/5; at 3: F_a = 1, F_b = 3/5 -> D = 0.4.
  KsResult r = ks_two_sample({1, 2, 2, 3, 3, 3}, {2, 3, 3, 4, 4}, "ties");
  EXPECT_NEAR(r.statistic, 0.4, 1e-15);
  EXPECT_NEAR(r.p_value, 0.7754489529545198, 1e-12);
  // Stepping through the tied 1s one at a time would report D = 1 partway; scipy gives 0.2.
  r = ks_two_sample({1, 1, 1, 1}, {1, 1, 1, 1, 2}, "ties");
  EXPECT_NEAR(r.statistic, 0.2, 1e-15);
  EXPECT_NEAR(r.p_value, 0.9999921107429537, 1e-12);
}

TEST(KsTwoSample, MatchesScipyOnUnevenSamples) {
  const std::vector<double> a = {0.12, -0.5, 1.3, 0.8, 2.1, -1.2, 0.33, 0.05, 1.7, -0.4, 0.9, 0.61};
  const std::vector<double> b = {0.9, 1.5, 2.2, 0.3, 1.1, 2.8, 1.9, 0.75, 1.4, 2.5};
  const KsResult r = ks_two_sample(a, b, "intensity");
  EXPECT_NEAR(r.statistic, 0.4833333333333334, 1e-14);
  EXPECT_NEAR(r.p_value, 0.15632533011677957, 1e-12);
}

TEST(KsTwoSample, RejectsEmptyAndNonFiniteSamplesNamingTheFeature) {
  EXPECT_EQ(error_of([] { ks_two_sample({}, {1}, "spacing z"); }),
            "spacing z: Kolmogorov-Smirnov test: the first sample is empty");
  EXPECT_EQ(error_of([] { ks_two_sample({1}, {}, "spacing z"); }),
            "spacing z: Kolmogorov-Smirnov test: the second sample is empty");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error_of([&] {
              ks_two_sample({1, nan}, {1}, "median");
            }),
            "median: Kolmogorov-Smirnov test: the first sample holds a non-finite value (nan)");
  EXPECT_EQ(error_of([&] {
              ks_two_sample({1}, {2, -inf}, "median");
            }),
            "median: Kolmogorov-Smirnov test: the second sample holds a non-finite value (-inf)");
}

TEST(KolmogorovSurvival, MatchesScipyOnBothSidesOfTheSeriesSwitch) {
  // scipy.stats.kstwobign.sf(lambda)
  EXPECT_NEAR(kolmogorov_survival(0.3), 0.9999906941986655, 1e-14);
  EXPECT_NEAR(kolmogorov_survival(0.5), 0.9639452436648751, 1e-14);
  EXPECT_NEAR(kolmogorov_survival(0.9), 0.3927307079406543, 1e-14);
  EXPECT_NEAR(kolmogorov_survival(1.0), 0.26999967167735456, 1e-14);
  EXPECT_NEAR(kolmogorov_survival(1.36), 0.049485876755377876, 1e-14);
  EXPECT_NEAR(kolmogorov_survival(2.5), 7.453306344157342e-06, 1e-18);
  EXPECT_DOUBLE_EQ(kolmogorov_survival(0.0), 1.0);
  EXPECT_DOUBLE_EQ(kolmogorov_survival(-1.0), 1.0);
}

TEST(Quantile, MatchesNumpyLinear) {
  // numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6], q)
  const std::vector<double> v = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_DOUBLE_EQ(quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile(v, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile(v, 0.5), 3.5);
  EXPECT_DOUBLE_EQ(quantile(v, 0.9), 6.8999999999999995);
  EXPECT_DOUBLE_EQ(quantile(v, 1.0), 9.0);
  EXPECT_DOUBLE_EQ(quantile({2.5}, 0.3), 2.5);           // numpy.quantile([2.5], 0.3)
  EXPECT_DOUBLE_EQ(quantile({0.1, 0.7}, 1.0 / 3), 0.3);  // numpy.quantile([0.1, 0.7], 1/3)
}

TEST(Quantile, RejectsEmptyInputNaNAndQOutsideTheUnitInterval) {
  EXPECT_EQ(error_of([] { quantile({}, 0.5); }), "quantile: no values");
  EXPECT_EQ(error_of([] { quantile({1, 2}, 1.5); }), "quantile: q = 1.500000 is outside [0, 1]");
  EXPECT_EQ(error_of([] {
              quantile({1, std::numeric_limits<double>::quiet_NaN()}, 0.5);
            }),
            "quantile: the values hold a NaN");
}

}  // namespace
}  // namespace medseg
