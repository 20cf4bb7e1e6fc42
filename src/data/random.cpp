#include "medseg/data/random.h"

#include <algorithm>

namespace medseg {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

namespace {

constexpr uint64_t kBatchStream = 1;
constexpr uint64_t kSampleStream = 2;

}  // namespace

Rng make_rng(uint64_t seed, uint64_t stream, uint64_t index) {
  return Rng(splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index));
}

Rng batch_rng(uint64_t seed, int64_t batch_index) {
  return make_rng(seed, kBatchStream, static_cast<uint64_t>(batch_index));
}

std::vector<Rng> sample_rngs(uint64_t seed, int64_t batch_index, int64_t batch_size) {
  std::vector<Rng> rngs;
  const uint64_t batch_key = splitmix64(static_cast<uint64_t>(batch_index));
  for (int64_t i = 0; i < batch_size; ++i)
    rngs.push_back(make_rng(seed, kSampleStream, batch_key ^ static_cast<uint64_t>(i)));
  return rngs;
}

double uniform(Rng& rng, double lo, double hi) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * u;
}

bool chance(Rng& rng, double p) {
  return uniform(rng, 0.0, 1.0) < p;
}

int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(rng() % span);
}

double factor_around_one(Rng& rng, double lo, double hi) {
  if (chance(rng, 0.5) && lo < 1.0) return uniform(rng, lo, 1.0);
  return uniform(rng, std::max(lo, 1.0), hi);
}

}  // namespace medseg
