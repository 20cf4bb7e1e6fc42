// Seeded random numbers for sampling and augmentation: every batch and every sample of it gets
// its own generator derived from (seed, batch index, sample), so a batch's content does not
// depend on which worker thread made it or when.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace medseg {

using Rng = std::mt19937_64;

// The splitmix64 mixing step (Steele et al.): a well-spread 64-bit value from any input.
uint64_t splitmix64(uint64_t x);

// A generator for one stream: (seed, stream, index) mixed with splitmix64.
Rng make_rng(uint64_t seed, uint64_t stream, uint64_t index);

// The generator of batch `batch_index` (case choice, patch positions).
Rng batch_rng(uint64_t seed, int64_t batch_index);
// One generator per sample of the batch (augmentation parameters).
std::vector<Rng> sample_rngs(uint64_t seed, int64_t batch_index, int64_t batch_size);

// Uniform in [lo, hi) (lo when hi == lo), from the top 53 bits: the same on every platform.
double uniform(Rng& rng, double lo, double hi);
// True with probability p (never for p <= 0, always for p >= 1).
bool chance(Rng& rng, double p);
// Uniform integer in [lo, hi] (inclusive).
int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi);
// The reference's two-sided draw for factors around 1 (contrast, gamma, scaling): with
// probability 1/2 and lo < 1, uniform in [lo, 1); otherwise uniform in [max(lo, 1), hi).
double factor_around_one(Rng& rng, double lo, double hi);

}  // namespace medseg
