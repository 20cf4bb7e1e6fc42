#include "medseg/train/batch_stream.h"

#include <torch/torch.h>

#include <chrono>

#include "medseg/core/error.h"

namespace medseg {

BatchStream::BatchStream(std::shared_ptr<const CaseSource> source, BatchOptions options, uint64_t seed,
                         int64_t first_index, c10::Device device, int workers)
    : options_(std::move(options)), device_(device), next_index_(first_index) {
  if (!source) throw Error("batch stream", "no case source");
  validate_batch_options(options_);
  LoaderOptions loader_options;
  loader_options.workers = workers;
  loader_options.first_index = first_index;
  const bool finish_in_workers = device_.is_cpu();
  BatchProducer producer = [source = std::move(source), options = options_, seed,
                            finish_in_workers](int64_t index) {
    return finish_in_workers ? make_batch(*source, options, seed, index)
                             : sample_batch(*source, options, seed, index);
  };
  loader_ = std::make_unique<DataLoader>(std::move(producer), loader_options);
}

Batch BatchStream::next() {
  const auto start = std::chrono::steady_clock::now();
  Batch batch = loader_->next();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++next_index_;
  if (batch.finished()) return batch;  // made on the CPU for a CPU run
  batch.data = batch.data.to(device_);
  batch.seg = batch.seg.to(device_);
  finish_batch(batch, options_);
  return batch;
}

double BatchStream::take_wait_seconds() {
  const double seconds = wait_seconds_;
  wait_seconds_ = 0;
  return seconds;
}

}  // namespace medseg
