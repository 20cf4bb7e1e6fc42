#include "medseg/data/data_loader.h"

#include <torch/torch.h>

#include <dlfcn.h>

#include <algorithm>

#include "medseg/core/error.h"

namespace medseg {

bool use_one_intra_op_thread_here() {
  // Torch initialises each thread's OpenMP team size lazily from its process-wide setting;
  // do that first, then lower this thread's own (an OpenMP per-thread ICV). Looked up at run
  // time: libgomp comes with libtorch, and nothing here links OpenMP itself.
  (void)at::get_num_threads();
  using SetThreads = void (*)(int);
  static const auto set_omp_threads =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (!set_omp_threads) return false;
  set_omp_threads(1);
  return at::get_num_threads() == 1;
}

int default_loader_workers() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores - at::get_num_threads());
}

DataLoader::DataLoader(BatchProducer producer, LoaderOptions options)
    : producer_(std::move(producer)) {
  if (!producer_) throw Error("data loader", "no batch producer");
  const int workers = options.workers > 0 ? options.workers : default_loader_workers();
  capacity_ = options.queue_capacity > 0 ? options.queue_capacity
                                         : 2 * static_cast<std::size_t>(workers);
  next_claim_ = next_deliver_ = options.first_index;
  try {
    const bool single = options.single_threaded_workers;
    for (int i = 0; i < workers; ++i)
      threads_.emplace_back([this, single] {
        if (single) use_one_intra_op_thread_here();
        work();
      });
  } catch (...) {
    stop();  // the threads already running, before the members go
    throw;
  }
}

DataLoader::~DataLoader() { stop(); }

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void DataLoader::work() {
  while (true) {
    int64_t index = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] {
        return stopping_ || next_claim_ < next_deliver_ + static_cast<int64_t>(capacity_);
      });
      if (stopping_) return;
      index = next_claim_++;
    }
    Slot slot;
    try {
      slot.batch = producer_(index);
    } catch (...) {
      slot.error = std::current_exception();
    }
    const bool failed = static_cast<bool>(slot.error);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failed) stopping_ = true;  // no new work after a failure; next() reports it
      done_.emplace(index, std::move(slot));
    }
    ready_.notify_all();
    if (failed) space_.notify_all();
  }
}

Batch DataLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
  ready_.wait(lock, [&] { return done_.count(next_deliver_) > 0; });
  auto node = done_.extract(next_deliver_);
  if (node.mapped().error) {
    failure_ = node.mapped().error;
    std::rethrow_exception(failure_);
  }
  ++next_deliver_;
  lock.unlock();
  space_.notify_all();
  return std::move(node.mapped().batch);
}

std::unique_ptr<DataLoader> make_batch_loader(std::shared_ptr<const CaseSource> source,
                                              BatchOptions options, uint64_t seed,
                                              LoaderOptions loader_options, WorkerStage stage) {
  if (!source) throw Error("data loader", "no case source");
  validate_batch_options(options);
  auto producer = [source = std::move(source), options = std::move(options), seed,
                   stage](int64_t index) {
    if (stage == WorkerStage::kSampled) return sample_batch(*source, options, seed, index);
    return make_batch(*source, options, seed, index);
  };
  return std::make_unique<DataLoader>(std::move(producer), loader_options);
}

}  // namespace medseg
