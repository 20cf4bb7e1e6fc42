// The trainer's view of the data loader: finished batches on the training device, in the
// seeded order, with the time the trainer spent waiting for them. On the CPU the loader's
// workers make whole batches. On CUDA each worker cuts the patches on the CPU, then moves the
// batch to the GPU and augments it there, over the whole batch (finish_batch), on a CUDA stream
// of its own: the augmentation overlaps the training step, and the trainer's stream is never
// held up by a copy or an augmentation kernel.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <memory>

#include "medseg/data/data_loader.h"
#include "medseg/data/training_batch.h"

namespace medseg {

class BatchStream {
 public:
  // Batches first_index, first_index + 1, ... of the sequence seeded by `seed`. workers <= 0:
  // default_loader_workers() on the CPU; on a GPU every core but one, at most 12.
  BatchStream(std::shared_ptr<const CaseSource> source, BatchOptions options, uint64_t seed,
              int64_t first_index, c10::Device device, int workers);

  // The next batch, finished and on the device.
  Batch next();

  // Seconds spent blocked in the loader since the last call (then reset).
  double take_wait_seconds();
  // The waiting time so far, without taking it (progress lines).
  double wait_seconds() const { return wait_seconds_; }
  int64_t next_index() const { return next_index_; }

 private:
  BatchOptions options_;
  c10::Device device_;
  std::unique_ptr<DataLoader> loader_;
  int64_t next_index_;
  double wait_seconds_ = 0;
};

}  // namespace medseg
