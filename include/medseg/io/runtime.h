// Process-wide settings every entry point (the CLI, tests, benchmarks) applies once at start:
// the allocator and the thread counts of torch and ITK.
#pragma once

namespace medseg {

// Keeps freed memory in the process instead of returning large blocks to the kernel: with
// glibc's defaults every fresh large tensor costs page faults on first touch, which dominates
// libtorch's CPU time (see docs/performance.md). Large tensors go to the caching allocator
// (io/cpu_allocator.h), bounded by the peak live size; other allocations to glibc's heap,
// which is not trimmed. Idempotent.
void configure_allocator();

// Sets torch's intra-op threads and ITK's default thread count (<= 0: all cores).
void set_thread_count(int threads);

// configure_allocator() + set_thread_count(threads).
void configure_runtime(int threads);

}  // namespace medseg
