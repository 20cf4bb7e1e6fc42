#include "medseg/train/batch_stream.h"

#include <c10/core/Stream.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "medseg/core/error.h"

namespace medseg {

namespace {

// The device with its index (the current one of its type when none is named).
c10::Device indexed(c10::Device device) {
  if (device.is_cpu() || device.has_index()) return device;
  return c10::Device(device.type(), c10::impl::VirtualGuardImpl(device.type()).getDevice().index());
}

// A worker's part for a GPU run: the patches cut on the CPU, then moved and augmented on the
// device on a stream of the pool, not the trainer's, so that the trainer's stream never waits
// for a host-to-device copy or an augmentation kernel. The worker waits for its stream, so a
// delivered batch is complete.
Batch finish_on_device(Batch batch, const BatchOptions& options, c10::Device device) {
  const c10::impl::VirtualGuardImpl guard_impl(device.type());
  const c10::Stream stream = guard_impl.getStreamFromGlobalPool(device);
  {
    const c10::StreamGuard on_stream(stream);
    batch.data = batch.data.to(device);
    batch.seg = batch.seg.to(device);
    finish_batch(batch, options);
  }
  stream.synchronize();
  return batch;
}

// On the CPU the network's threads and the workers share the cores (default_loader_workers). On
// a GPU the trainer's thread only launches kernels: every core but one cuts patches, up to 12
// (the reference's default number of augmentation processes).
int worker_count(int workers, c10::Device device) {
  if (workers > 0) return workers;
  if (device.is_cpu()) return default_loader_workers();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::clamp(cores - 1, 1, 12);
}

}  // namespace

BatchStream::BatchStream(std::shared_ptr<const CaseSource> source, BatchOptions options,
                         uint64_t seed, int64_t first_index, c10::Device device, int workers)
    : options_(std::move(options)), device_(indexed(device)), next_index_(first_index) {
  if (!source) throw Error("batch stream", "no case source");
  validate_batch_options(options_);
  LoaderOptions loader_options;
  loader_options.workers = worker_count(workers, device_);
  loader_options.first_index = first_index;
  BatchProducer producer = [source = std::move(source), options = options_, seed,
                            device = device_](int64_t index) {
    if (device.is_cpu()) return make_batch(*source, options, seed, index);
    return finish_on_device(sample_batch(*source, options, seed, index), options, device);
  };
  loader_ = std::make_unique<DataLoader>(std::move(producer), loader_options);
}

Batch BatchStream::next() {
  const auto start = std::chrono::steady_clock::now();
  Batch batch = loader_->next();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++next_index_;
  if (!device_.is_cpu()) {
    // Made on a worker's stream, used on the trainer's: the caching allocator must not hand
    // this memory to the worker's stream again before the trainer's work on it is done.
    const c10::Stream trainer_stream =
        c10::impl::VirtualGuardImpl(device_.type()).getStream(device_);
    batch.data.record_stream(trainer_stream);
    for (const at::Tensor& target : batch.targets) target.record_stream(trainer_stream);
  }
  return batch;
}

double BatchStream::take_wait_seconds() {
  const double seconds = wait_seconds_;
  wait_seconds_ = 0;
  return seconds;
}

}  // namespace medseg
