// Small statistics the QA layer compares distributions with: the two-sample Kolmogorov-Smirnov
// test (drift of a batch against the training cases) and quantiles as numpy computes them.
#pragma once

#include <string>
#include <vector>

namespace medseg {

struct KsResult {
  double statistic = 0;  // D = sup |F_a - F_b|, in [0, 1]
  double p_value = 1;    // asymptotic, see ks_two_sample
};

// Two-sample Kolmogorov-Smirnov test, two-sided. D is exact and equals scipy.stats.ks_2samp's
// statistic, ties included: both empirical CDFs are evaluated (right-continuous) at every value
// of either sample. The p-value is the Kolmogorov limit distribution's survival function at
// sqrt(en) * D with en = n*m/(n+m), i.e. scipy.stats.kstwobign.sf(sqrt(en) * D) (the formula of
// scipy's ks_2samp(method='asymp') before scipy 1.5; scipy 1.5+ uses kstwo.sf(D, round(en))
// there). Limits: it is exact only as n, m grow. Below en of about 50 it is an approximation,
// usually conservative (10 against 8 values with D = 0.7: 0.026, the exact p 0.012) but not
// always (5 against 5, D = 0.6: 0.33, exact 0.36); read it as a ranking, not a calibrated
// probability, for small batches.
// Throws Error naming `what` when either sample is empty or holds a NaN or infinite value.
KsResult ks_two_sample(std::vector<double> a, std::vector<double> b, const std::string& what);

// The Kolmogorov distribution's survival function P(K > lambda) = 2 sum_k (-1)^(k-1)
// exp(-2 k^2 lambda^2) (scipy.stats.kstwobign.sf); 1 for lambda <= 0.
double kolmogorov_survival(double lambda);

// The q-quantile with linear interpolation between the order statistics (numpy.quantile's
// default method 'linear'), q in [0, 1]. Throws Error when `values` is empty, holds a NaN, or q
// is outside [0, 1].
double quantile(std::vector<double> values, double q);

}  // namespace medseg
