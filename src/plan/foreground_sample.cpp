#include "medseg/plan/foreground_sample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "medseg/core/error.h"
#include "medseg/plan/percentile.h"

namespace medseg {

namespace {

void check_population(uint64_t n) {
  if (n == 0 || n > (uint64_t{1} << 32))
    throw Error("NumpyLegacyRandom", "randint needs 1 <= n <= 2^32");
}

// numpy's gen_mask: the smallest all-ones mask >= range.
uint32_t mask_for(uint64_t range) {
  uint32_t mask = static_cast<uint32_t>(range);
  for (int shift = 1; shift <= 16; shift <<= 1) mask |= mask >> shift;
  return mask;
}

}  // namespace

uint64_t NumpyLegacyRandom::randint(uint64_t n) {
  check_population(n);
  const uint64_t range = n - 1;
  if (range == 0) return 0;
  return masked_draw(static_cast<uint32_t>(range), mask_for(range));
}

void NumpyLegacyRandom::count_draws(uint64_t n, int64_t draws, uint32_t* counts) {
  check_population(n);
  const uint64_t range = n - 1;
  if (range == 0) {
    counts[0] += static_cast<uint32_t>(draws);
    return;
  }
  const uint32_t mask = mask_for(range);
  for (int64_t i = 0; i < draws; ++i) ++counts[masked_draw(static_cast<uint32_t>(range), mask)];
}

int64_t ForegroundSample::size() const {
  if (cumulative.empty()) return static_cast<int64_t>(values.size());
  return cumulative.back();
}

int64_t ForegroundSample::count_at_most(float v) const {
  const auto end = std::upper_bound(values.begin(), values.end(), v);
  const int64_t i = end - values.begin();
  if (cumulative.empty() || i == 0) return i;
  return cumulative[static_cast<size_t>(i - 1)];
}

ForegroundSample sample_with_replacement(const float* values, int64_t n, int64_t n_samples,
                                         NumpyLegacyRandom& rng) {
  ForegroundSample sample;
  if (n == 0 || n_samples == 0) return sample;
  if (n_samples > std::numeric_limits<uint32_t>::max())
    throw Error("foreground sampling", "more than 2^32 samples per case are not supported");
  std::vector<uint32_t> draws(static_cast<size_t>(n), 0);
  rng.count_draws(static_cast<uint64_t>(n), n_samples, draws.data());
  std::vector<std::pair<float, uint32_t>> drawn;
  for (int64_t i = 0; i < n; ++i)
    if (draws[i]) drawn.emplace_back(values[i], draws[i]);
  std::sort(drawn.begin(), drawn.end());
  size_t distinct = 0;  // merge equal values in place
  for (size_t i = 0; i < drawn.size(); ++i) {
    if (distinct > 0 && drawn[distinct - 1].first == drawn[i].first)
      drawn[distinct - 1].second += drawn[i].second;
    else
      drawn[distinct++] = drawn[i];
  }
  drawn.resize(distinct);
  if (2 * static_cast<int64_t>(distinct) <= n_samples) {  // 8 bytes per distinct value
    uint32_t total = 0;
    for (const auto& [value, count] : drawn) {
      sample.values.push_back(value);
      sample.cumulative.push_back(total += count);
    }
  } else {  // 4 bytes per draw is smaller
    sample.values.reserve(static_cast<size_t>(n_samples));
    for (const auto& [value, count] : drawn)
      sample.values.insert(sample.values.end(), count, value);
  }
  return sample;
}

namespace {

// float <-> unsigned key with the same order (finite values).
uint32_t order_key(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

float from_order_key(uint32_t key) {
  const uint32_t bits = (key & 0x80000000u) ? key & 0x7FFFFFFFu : ~key;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

struct Pool {
  std::vector<const ForegroundSample*> samples;
  int64_t size = 0;
  float min = 0, max = 0;

  int64_t count_at_most(float v) const {
    int64_t n = 0;
    for (const auto* s : samples) n += s->count_at_most(v);
    return n;
  }
  // The k-th smallest draw (0-based): the smallest value with more than k draws at or below it.
  float kth(int64_t k) const {
    uint32_t lo = order_key(min), hi = order_key(max);
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (count_at_most(from_order_key(mid)) > k)
        hi = mid;
      else
        lo = mid + 1;
    }
    const float v = from_order_key(lo);
    return v == 0 ? 0.0f : v;  // no "-0"
  }
  // numpy.percentile(..., method="linear"), including numpy's two-sided lerp.
  double percentile(double q) const {
    const double index = static_cast<double>(size - 1) * (q / 100.0);
    const double below = std::floor(index);
    const double t = index - below;
    const double a = kth(static_cast<int64_t>(below));
    const double b = kth(std::min(static_cast<int64_t>(below) + 1, size - 1));
    return numpy_lerp(a, b, t);
  }
};

// Calls fn(value, count) for each stored value of the sample.
template <typename Fn>
void for_each_value(const ForegroundSample& s, Fn fn) {
  uint32_t previous = 0;
  for (size_t i = 0; i < s.values.size(); ++i) {
    const uint32_t count = s.cumulative.empty() ? 1 : s.cumulative[i] - previous;
    if (!s.cumulative.empty()) previous = s.cumulative[i];
    fn(static_cast<double>(s.values[i]), static_cast<double>(count));
  }
}

}  // namespace

IntensityProperties pooled_intensity_properties(
    const std::vector<const ForegroundSample*>& samples) {
  Pool pool;
  for (const auto* s : samples) {
    if (s->size() == 0) continue;
    if (pool.samples.empty()) pool.min = s->values.front(), pool.max = s->values.back();
    pool.min = std::min(pool.min, s->values.front());
    pool.max = std::max(pool.max, s->values.back());
    pool.samples.push_back(s);
    pool.size += s->size();
  }
  if (pool.size == 0)
    throw Error("fingerprint",
                "no foreground voxels (label > 0) in any training case: cannot compute intensity "
                "statistics");
  IntensityProperties p;
  double sum = 0;
  for (const auto* s : pool.samples) for_each_value(*s, [&](double v, double n) { sum += n * v; });
  p.mean = sum / static_cast<double>(pool.size);
  double squares = 0;  // two passes, as numpy's std
  for (const auto* s : pool.samples)
    for_each_value(*s, [&](double v, double n) { squares += n * (v - p.mean) * (v - p.mean); });
  p.std = std::sqrt(squares / static_cast<double>(pool.size));
  p.min = pool.min;
  p.max = pool.max;
  p.median = pool.percentile(50.0);
  p.percentile_00_5 = pool.percentile(0.5);
  p.percentile_99_5 = pool.percentile(99.5);
  return p;
}

}  // namespace medseg
