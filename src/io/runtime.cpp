#include "medseg/io/runtime.h"

#include <itkMultiThreaderBase.h>
#include <malloc.h>
#include <torch/torch.h>

#include "medseg/core/parallel.h"

namespace medseg {

void configure_allocator() {
  // Serve every allocation from the heap (no per-block mmap) and never trim it: a block freed
  // by one iteration is reused by the next without new page faults.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
  mallopt(M_TOP_PAD, 256 << 20);
}

void set_thread_count(int threads) {
  if (threads <= 0) threads = default_thread_count();
  torch::set_num_threads(threads);
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
}

void configure_runtime(int threads) {
  configure_allocator();
  set_thread_count(threads);
}

}  // namespace medseg
