#include "medseg/io/cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace medseg {

namespace {

constexpr std::size_t kSmallAlignment = 64;  // as c10's default CPU allocator

// Every mapped block, free or live, under one mutex (a training iteration makes a few hundred
// large requests: the lock is nowhere near the profile).
struct BlockCache {
  std::mutex mutex;
  std::map<std::size_t, std::vector<void*>> free_blocks;  // by block size
  std::unordered_map<void*, std::size_t> block_size;     // every mapped block
  CpuAllocatorStats stats;

  void release_largest_free_block() {
    for (auto it = free_blocks.rbegin(); it != free_blocks.rend(); ++it) {
      if (it->second.empty()) continue;
      void* p = it->second.back();
      it->second.pop_back();
      ::munmap(p, it->first);
      block_size.erase(p);
      stats.cached_bytes -= it->first;
      stats.released_bytes += it->first;
      return;
    }
  }
};

// Never destroyed: tensors may die during static destruction.
BlockCache& cache() {
  static BlockCache* instance = new BlockCache;
  return *instance;
}

void note_live(BlockCache& c, std::size_t size) {
  c.stats.live_bytes += size;
  c.stats.peak_live_bytes = std::max(c.stats.peak_live_bytes, c.stats.live_bytes);
}

void* take_block(std::size_t size) {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  // The smallest cached block that fits and wastes at most half of itself.
  for (auto it = c.free_blocks.lower_bound(size); it != c.free_blocks.end() && it->first <= 2 * size; ++it) {
    if (it->second.empty()) continue;
    void* p = it->second.back();
    it->second.pop_back();
    c.stats.cached_bytes -= it->first;
    ++c.stats.hits;
    note_live(c, it->first);
    return p;
  }
  // A new block: first give back cached blocks beyond what the process holds at its live peak
  // (plus an eighth: the mix of sizes differs between the phases of an iteration).
  const std::size_t peak = std::max(c.stats.peak_live_bytes, c.stats.live_bytes + size);
  const std::size_t limit = peak + peak / 8 + kAllocatorSlack;
  while (c.stats.cached_bytes > 0 && c.stats.live_bytes + c.stats.cached_bytes + size > limit)
    c.release_largest_free_block();
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    while (c.stats.cached_bytes > 0) c.release_largest_free_block();  // try once more with nothing cached
    p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  TORCH_CHECK(p != MAP_FAILED, "medseg CPU allocator: out of memory mapping ", size, " bytes");
  c.block_size[p] = size;
  ++c.stats.misses;
  note_live(c, size);
  return p;
}

// The one deleter of every pointer this allocator hands out (torch's raw_deallocate, used by
// oneDNN, has no DataPtr to say which kind it was): mapped blocks go back to the cache, the rest
// to free().
void free_any(void* p) {
  if (p == nullptr) return;
  BlockCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    const auto it = c.block_size.find(p);
    if (it != c.block_size.end()) {
      const std::size_t size = it->second;
      c.stats.live_bytes -= size;
      c.stats.cached_bytes += size;
      c.free_blocks[size].push_back(p);
      return;
    }
  }
  std::free(p);
}

c10::DataPtr allocate_bytes(std::size_t n) {
  const c10::Device cpu(c10::kCPU);
  if (n >= kCachedAllocationMin) {
    void* p = take_block(cached_block_size(n));
    return {p, p, &free_any, cpu};
  }
  void* p = nullptr;
  if (n > 0 && ::posix_memalign(&p, kSmallAlignment, n) != 0) p = nullptr;
  TORCH_CHECK(n == 0 || p != nullptr, "medseg CPU allocator: out of memory allocating ", n, " bytes");
  return {p, p, &free_any, cpu};
}

// libtorch 1.13 declares allocate() const, 2.x non-const (and adds copy_data): defining both
// forms without `override` overrides whichever the linked version declares.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t n) const { return allocate_bytes(n); }
  c10::DataPtr allocate(std::size_t n) { return allocate_bytes(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
  c10::DeleterFnPtr raw_deleter() const override { return &free_any; }
};

std::atomic<bool> g_installed{false};

}  // namespace

std::size_t cached_block_size(std::size_t n) {
  constexpr std::size_t kib64 = std::size_t{64} << 10, mib = std::size_t{1} << 20;
  std::size_t step = kib64;
  if (n > mib) {
    std::size_t power = mib;
    while (power * 2 <= n) power *= 2;
    step = power / 8;
  }
  return (n + step - 1) / step * step;
}

void install_cpu_caching_allocator() {
  static CachingCpuAllocator allocator;
  static std::once_flag once;
  std::call_once(once, [] {
    c10::SetCPUAllocator(&allocator, /*priority=*/100);
    g_installed = c10::GetCPUAllocator() == &allocator;
  });
}

bool cpu_caching_allocator_installed() { return g_installed; }

CpuAllocatorStats cpu_allocator_stats() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void release_cached_cpu_memory() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  while (c.stats.cached_bytes > 0) c.release_largest_free_block();
}

}  // namespace medseg
