// numpy.percentile with its default "linear" method, for the planner's medians and
// percentiles of per-case values (spacings, shapes), so that ties and midpoints come out as the
// reference's.
#pragma once

#include <vector>

namespace medseg {

// q in [0, 100]; throws Error for an empty list.
double percentile(std::vector<double> values, double q);

// Per-axis percentile of rows of equal length (numpy.percentile(rows, q, axis=0)).
std::vector<double> percentile_per_axis(const std::vector<std::vector<double>>& rows, double q);

// numpy.median: the middle value, or the mean of the two middle values.
double median(std::vector<double> values);
std::vector<double> median_per_axis(const std::vector<std::vector<double>>& rows);

// numpy's _lerp: a + (b - a) t, computed from b's side when t >= 0.5.
double numpy_lerp(double a, double b, double t);

}  // namespace medseg
