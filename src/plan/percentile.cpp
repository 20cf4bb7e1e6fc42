#include "medseg/plan/percentile.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "medseg/core/error.h"

namespace medseg {

double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("percentile", "no values");
  std::sort(values.begin(), values.end());
  const double index = static_cast<double>(values.size() - 1) * (q / 100.0);
  const double below = std::floor(index);
  const size_t lo = static_cast<size_t>(below);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return numpy_lerp(values[lo], values[hi], index - below);
}

double median(std::vector<double> values) {
  if (values.empty()) throw Error("median", "no values");
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

namespace {

std::vector<double> per_axis(const std::vector<std::vector<double>>& rows,
                             const std::function<double(std::vector<double>)>& statistic) {
  if (rows.empty()) throw Error("percentile", "no values");
  std::vector<double> out;
  for (size_t axis = 0; axis < rows.front().size(); ++axis) {
    std::vector<double> column;
    for (const auto& row : rows) {
      if (row.size() != rows.front().size()) throw Error("percentile", "rows differ in length");
      column.push_back(row[axis]);
    }
    out.push_back(statistic(std::move(column)));
  }
  return out;
}

}  // namespace

std::vector<double> percentile_per_axis(const std::vector<std::vector<double>>& rows, double q) {
  return per_axis(rows,
                  [q](std::vector<double> column) { return percentile(std::move(column), q); });
}

std::vector<double> median_per_axis(const std::vector<std::vector<double>>& rows) {
  return per_axis(rows, [](std::vector<double> column) { return median(std::move(column)); });
}

}  // namespace medseg
