// A caching allocator for libtorch's large CPU tensors (the CUDA caching allocator's idea on the
// CPU): blocks of 256 KiB and more are mapped once, kept when a tensor dies and handed to the
// next request of the same size class, so a training iteration or a sliding-window tile reuses
// the previous one's memory without page faults. Cached blocks are returned to the kernel when
// keeping them would grow the process beyond its peak live size (plus a small slack).
#pragma once

#include <cstddef>

namespace medseg {

// Requests below this go to malloc (glibc's heap serves them well).
inline constexpr std::size_t kCachedAllocationMin = std::size_t{256} << 10;
// How far the mapped total may exceed the peak of live bytes before cached blocks are released.
inline constexpr std::size_t kAllocatorSlack = std::size_t{64} << 20;

struct CpuAllocatorStats {
  std::size_t live_bytes = 0;       // in blocks held by tensors
  std::size_t cached_bytes = 0;     // in free blocks kept for reuse
  std::size_t peak_live_bytes = 0;  // highest live_bytes so far
  std::size_t hits = 0;             // requests served from the cache
  std::size_t misses = 0;           // requests that mapped a new block
  std::size_t released_bytes = 0;   // cached bytes returned to the kernel so far
};

// The block size a request of n >= kCachedAllocationMin bytes gets: n rounded up to 64 KiB up to
// 1 MiB, above that to an eighth of its power of two (at most 12.5% more than asked).
std::size_t cached_block_size(std::size_t n);

// Makes this torch's CPU allocator for every later allocation (idempotent).
void install_cpu_caching_allocator();
bool cpu_caching_allocator_installed();

CpuAllocatorStats cpu_allocator_stats();

// Returns every cached block to the kernel (e.g. between phases with different shapes).
void release_cached_cpu_memory();

}  // namespace medseg
