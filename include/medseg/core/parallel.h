// A small parallel-for over independent work items (cases, files), on plain std::threads.
#pragma once

#include <cstddef>
#include <functional>

namespace medseg {

// Calls fn(i) for i in [0, n) on up to `threads` threads (<= 0: hardware concurrency). Items
// are handed out in order; if any call throws, no new items start and the first exception is
// rethrown after the running ones finish.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn);

int default_thread_count();

}  // namespace medseg
