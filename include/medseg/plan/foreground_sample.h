// Foreground intensity sampling exactly as the reference draws it: numpy's legacy
// RandomState(seed).choice(values, n, replace=True) (MT19937 with masked rejection), so that
// medseg's fingerprint statistics reproduce the reference's from the same voxels. A case's
// sample is kept as its distinct drawn values with their counts (or, when that would be
// larger, as the sorted raw draws): never more than 4 bytes per draw, usually far less.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "medseg/io/plans.h"

namespace medseg {

// The integer stream of numpy.random.RandomState(seed).randint(0, n): one 32-bit MT19937
// output per try, masked to the smallest all-ones mask >= n - 1, retried while > n - 1.
class NumpyLegacyRandom {
 public:
  explicit NumpyLegacyRandom(uint32_t seed) : engine_(seed) {}
  // One draw in [0, n); n must be in [1, 2^32]. n == 1 consumes no random numbers (as numpy).
  uint64_t randint(uint64_t n);
  // `draws` draws of randint(n), counted: ++counts[i] per draw of i (counts holds n entries).
  void count_draws(uint64_t n, int64_t draws, uint32_t* counts);

 private:
  // numpy's masked rejection: the first masked 32-bit output <= range.
  uint32_t masked_draw(uint32_t range, uint32_t mask) {
    uint32_t value;
    while ((value = static_cast<uint32_t>(engine_()) & mask) > range) {
    }
    return value;
  }

  std::mt19937 engine_;
};

// One case's with-replacement sample of foreground values.
struct ForegroundSample {
  std::vector<float> values;         // ascending; distinct when `cumulative` is set
  std::vector<uint32_t> cumulative;  // draws of values[0..i]; empty: each entry drawn once

  int64_t size() const;
  // Number of draws <= v.
  int64_t count_at_most(float v) const;
};

// Draws `n_samples` of values[0..n) with replacement (n == 0: an empty sample, nothing drawn).
ForegroundSample sample_with_replacement(const float* values, int64_t n, int64_t n_samples,
                                         NumpyLegacyRandom& rng);

// Statistics of all samples pooled: mean, population std, min, max, and the median, 0.5 and
// 99.5 percentiles with numpy's default linear interpolation. Throws Error when all are empty.
IntensityProperties pooled_intensity_properties(
    const std::vector<const ForegroundSample*>& samples);

}  // namespace medseg
