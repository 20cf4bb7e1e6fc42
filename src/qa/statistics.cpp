#include "medseg/qa/statistics.h"

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

namespace {

constexpr double kStatsPi = 3.14159265358979323846;

void stats_check_sample(const std::vector<double>& values, const char* name,
                        const std::string& what) {
  if (values.empty())
    throw Error(what, std::string("Kolmogorov-Smirnov test: the ") + name + " sample is empty");
  for (const double v : values)
    if (!std::isfinite(v))
      throw Error(what, std::string("Kolmogorov-Smirnov test: the ") + name +
                            " sample holds a non-finite value (" + std::to_string(v) + ")");
}

}  // namespace

KsResult ks_two_sample(std::vector<double> a, std::vector<double> b, const std::string& what) {
  stats_check_sample(a, "first", what);
  stats_check_sample(b, "second", what);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const size_t n = a.size(), m = b.size();
  // Walk the merged values; at each distinct value both CDFs count every sample value <= it
  // (scipy: searchsorted(side='right') at every point of either sample), so ties move together.
  double d = 0;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    const double v = j == m || (i < n && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n && a[i] <= v) ++i;
    while (j < m && b[j] <= v) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
  const double en = static_cast<double>(n) * m / (static_cast<double>(n) + m);
  KsResult result;
  result.statistic = d;
  result.p_value = std::clamp(kolmogorov_survival(std::sqrt(en) * d), 0.0, 1.0);
  return result;
}

double kolmogorov_survival(double lambda) {
  if (!(lambda > 0)) return 1.0;
  if (lambda < 1.0) {
    // The alternating series converges slowly here; Jacobi's theta form of the CDF does not:
    // P(K <= l) = sqrt(2 pi) / l * sum_k exp(-(2k-1)^2 pi^2 / (8 l^2)).
    const double w = -kStatsPi * kStatsPi / (8.0 * lambda * lambda);
    double cdf = 0;
    for (int k = 1; k <= 20; ++k) {
      const double term = std::exp(w * (2 * k - 1) * (2 * k - 1));
      cdf += term;
      if (term < 1e-18 * cdf) break;
    }
    cdf *= std::sqrt(2.0 * kStatsPi) / lambda;
    return std::clamp(1.0 - cdf, 0.0, 1.0);
  }
  double sf = 0, sign = 1;
  for (int k = 1; k <= 100; ++k) {
    const double term = std::exp(-2.0 * k * k * lambda * lambda);
    sf += sign * term;
    sign = -sign;
    if (term < 1e-18 * sf) break;
  }
  return std::clamp(2.0 * sf, 0.0, 1.0);
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("quantile", "no values");
  if (!(q >= 0 && q <= 1))
    throw Error("quantile", "q = " + std::to_string(q) + " is outside [0, 1]");
  for (const double v : values)
    if (std::isnan(v)) throw Error("quantile", "the values hold a NaN");
  // numpy's 'linear' method: position q (n - 1) between the order statistics around it.
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const double t = position - static_cast<double>(below);
  std::nth_element(values.begin(), values.begin() + below, values.end());
  const double lo = values[below];
  if (below + 1 >= values.size()) return lo;
  const double hi = *std::min_element(values.begin() + below + 1, values.end());
  // numpy's _lerp, which interpolates from the nearer end for exact results at t = 1.
  const double diff = hi - lo;
  return t >= 0.5 ? hi - diff * (1 - t) : lo + diff * t;
}

}  // namespace medseg
