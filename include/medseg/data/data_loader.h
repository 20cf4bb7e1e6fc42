// The multi-threaded batch loader: N worker threads make batches 0, 1, 2, ... ahead of the
// trainer into a bounded queue and hand them out strictly in order, so with a producer seeded
// by (seed, batch index) the sequence is the same whatever the thread timing or worker count.
//
// Threads: at::set_num_threads is process-wide, but with an OpenMP build of libtorch (Debian's
// and PyTorch's) each thread has its own OpenMP team size. By default every worker sets its own
// to 1, so the loader's parallelism is one batch per worker and a worker's ops never fan out
// over the cores the network computes on; the trainer's thread keeps torch's setting. Give
// torch the cores the network needs and the loader the rest (default_loader_workers).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "medseg/data/training_batch.h"

namespace medseg {

struct LoaderOptions {
  int workers = 0;                      // <= 0: default_loader_workers()
  std::size_t queue_capacity = 0;       // batches made ahead of the consumer (incl. those in the
                                        // making); 0: 2 x workers
  int64_t first_index = 0;              // index of the first batch (resuming a run)
  bool single_threaded_workers = true;  // each worker's torch ops on one thread (see above)
};

// Limits torch's intra-op parallelism of the calling thread only to one thread (OpenMP builds;
// false where the build has no per-thread setting, and nothing changes).
bool use_one_intra_op_thread_here();

// The cores left after torch's intra-op threads, at least 1.
int default_loader_workers();

// Makes batch `index`; called from worker threads, concurrently for different indices.
using BatchProducer = std::function<Batch(int64_t index)>;

class DataLoader {
 public:
  // Starts the workers at once.
  DataLoader(BatchProducer producer, LoaderOptions options = {});
  // Stops the workers and joins them: a worker busy with a batch finishes that batch first;
  // workers waiting for queue space return at once. Never throws.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch in index order, waiting for it if needed. If its producer threw, rethrows
  // that exception here; the loader is then failed and every later call rethrows it too.
  Batch next();

  int workers() const { return static_cast<int>(threads_.size()); }
  std::size_t queue_capacity() const { return capacity_; }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  void work();
  void stop();  // idempotent

  BatchProducer producer_;
  std::size_t capacity_ = 0;
  std::mutex mutex_;
  std::condition_variable space_;  // a worker may claim the next index
  std::condition_variable ready_;  // a batch (or an error) was stored
  bool stopping_ = false;
  int64_t next_claim_ = 0;    // next index a worker takes
  int64_t next_deliver_ = 0;  // next index next() returns
  std::map<int64_t, Slot> done_;
  std::exception_ptr failure_;  // set once a delivered batch failed
  std::vector<std::thread> threads_;
};

// How far the workers take each batch.
enum class WorkerStage {
  kFinished,  // sample and augment (make_batch): training on the CPU
  kSampled,   // sample only (sample_batch): the trainer moves the batch to its device and
              // calls finish_batch there, on the whole batch at once (GPU training)
};

// Training (or validation) batches of `options` from `source`, seeded by `seed`. Validates the
// options (Error) before any thread starts.
std::unique_ptr<DataLoader> make_batch_loader(std::shared_ptr<const CaseSource> source,
                                              BatchOptions options, uint64_t seed,
                                              LoaderOptions loader_options = {},
                                              WorkerStage stage = WorkerStage::kFinished);

}  // namespace medseg
