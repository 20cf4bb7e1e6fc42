#include "medseg/train/distributed.h"

#include <torch/torch.h>

#ifdef MEDSEG_WITH_GLOO  // Gloo's headers were found (cmake/MedsegDependencies.cmake)
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef MEDSEG_WITH_NCCL
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "medseg/core/error.h"
#include "medseg/data/random.h"

namespace medseg {

// Named (not anonymous): Communicator::Impl, declared in the header, holds one.
namespace process_group_detail {

// The collectives medseg uses, over whichever process-group class the backend is (their common
// base differs between libtorch 1.13 and 2.x, the calls do not).
class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& tensors) = 0;
  virtual void broadcast(std::vector<at::Tensor>& tensors) = 0;
  virtual void barrier() = 0;
};

template <class Group>
class CollectivesOf final : public Collectives {
 public:
  explicit CollectivesOf(c10::intrusive_ptr<Group> group) : group_(std::move(group)) {}
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& tensors) override {
    return group_->allreduce(tensors, c10d::AllreduceOptions());
  }
  void broadcast(std::vector<at::Tensor>& tensors) override {
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    group_->broadcast(tensors, options)->wait();
  }
  void barrier() override { group_->barrier(c10d::BarrierOptions())->wait(); }

 private:
  c10::intrusive_ptr<Group> group_;
};

}  // namespace process_group_detail

namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  try {
    std::size_t used = 0;
    const int parsed = std::stoi(value, &used);
    if (used == std::string(value).size()) return parsed;
  } catch (const std::exception&) {
  }
  throw UsageError(name,
                   std::string("environment variable is '") + value + "', not a whole number");
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

constexpr int64_t kBucketBytes = 25 << 20;

}  // namespace

DistributedOptions distributed_options_from_environment(DistributedOptions o) {
  o.world_size = env_int("WORLD_SIZE", o.world_size);
  o.rank = env_int("RANK", o.rank);
  o.local_rank = env_int("LOCAL_RANK", o.local_rank);
  o.local_world_size = env_int("LOCAL_WORLD_SIZE", o.local_world_size);
  o.master_port = env_int("MASTER_PORT", o.master_port);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0')
    o.master_addr = addr;
  return o;
}

void validate_distributed_options(const DistributedOptions& o) {
  const std::string where = "distributed training";
  if (o.world_size < 1)
    throw UsageError(where, "world size " + std::to_string(o.world_size) + " is below 1");
  if (o.rank < 0 || o.rank >= o.world_size)
    throw UsageError(where, "rank " + std::to_string(o.rank) + " is outside [0, " +
                                std::to_string(o.world_size) + ")");
  if (o.local_world_size < 1 || o.local_world_size > o.world_size)
    throw UsageError(where, "local world size " + std::to_string(o.local_world_size) +
                                " is outside [1, " + std::to_string(o.world_size) + "]");
  if (o.local_rank < 0 || o.local_rank >= o.local_world_size)
    throw UsageError(where, "local rank " + std::to_string(o.local_rank) + " is outside [0, " +
                                std::to_string(o.local_world_size) + ")");
  if (o.master_port < 1 || o.master_port > 65535)
    throw UsageError(where,
                     "master port " + std::to_string(o.master_port) + " is outside 1..65535");
  if (o.master_addr.empty()) throw UsageError(where, "no master address");
  if (o.timeout_seconds < 1) throw UsageError(where, "timeout must be at least 1 s");
}

RankBatch rank_batch(int64_t global_batch, double oversample, int world_size, int rank) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw UsageError("distributed training",
                     "rank " + std::to_string(rank) + " of " + std::to_string(world_size));
  if (global_batch < world_size)
    throw UsageError("distributed training", "the batch size " + std::to_string(global_batch) +
                                                 " is smaller than the number of processes " +
                                                 std::to_string(world_size) +
                                                 ": every rank needs a sample");
  std::vector<int64_t> per_rank(world_size, global_batch / world_size);
  for (int i = 0; i < world_size; ++i)
    if (per_rank[i] * world_size + i < global_batch) per_rank[i] += 1;
  RankBatch r;
  for (int i = 0; i < rank; ++i) r.first_sample += per_rank[i];
  r.batch_size = per_rank[rank];
  const double low = static_cast<double>(r.first_sample) / global_batch;
  const double high = static_cast<double>(r.first_sample + r.batch_size) / global_batch;
  if (high < 1 - oversample)
    r.oversample_foreground = 0.0;
  else if (low > 1 - oversample)
    r.oversample_foreground = 1.0;
  else
    r.oversample_foreground = 1 - ((1 - oversample) - low) / (high - low);
  return r;
}

uint64_t rank_seed(uint64_t seed, int rank) {
  return rank == 0 ? seed : splitmix64(seed ^ splitmix64(static_cast<uint64_t>(rank)));
}

struct Communicator::Impl {
  DistributedOptions options;
  std::string backend;
  c10::intrusive_ptr<c10d::Store> store;
  std::unique_ptr<process_group_detail::Collectives> group;

  [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
    throw Error("distributed training (rank " + std::to_string(options.rank) + " of " +
                    std::to_string(options.world_size) + ")",
                what + " failed: another rank has exited or stopped responding (" + backend +
                    ", timeout " + std::to_string(options.timeout_seconds) + " s): " + e.what());
  }
  // Gloo reduces host memory: CUDA tensors go through the CPU there.
  bool staged(const at::Tensor& t) const { return backend == "gloo" && !t.is_cpu(); }

  void allreduce_wait(std::vector<at::Tensor>& tensors, const char* what) {
    try {
      group->allreduce(tensors)->wait();
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }
};

Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;

std::unique_ptr<Communicator> Communicator::connect(const DistributedOptions& options,
                                                    c10::Device device) {
  validate_distributed_options(options);
  // Gloo sends with writev, which raises SIGPIPE when the peer has died: its default action
  // would end this rank silently instead of letting the collective fail with an error that
  // names the other rank. (Python, torchrun's usual host, ignores SIGPIPE from the start.)
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string address = options.master_addr + ":" + std::to_string(options.master_port);
  const auto timeout = std::chrono::milliseconds(int64_t{options.timeout_seconds} * 1000);
  try {
    c10d::TCPStoreOptions store;
    store.port = static_cast<uint16_t>(options.master_port);
    store.isServer = options.rank == 0;
    store.numWorkers = static_cast<std::size_t>(options.world_size);
    store.waitWorkers = true;
    store.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store);
  } catch (const std::exception& e) {
    throw Error("distributed training (rank " + std::to_string(options.rank) + ")",
                "rendezvous at " + address + " failed (are all " +
                    std::to_string(options.world_size) +
                    " ranks started, and is the port free on the master?): " + e.what());
  }
  try {
#ifdef MEDSEG_WITH_NCCL
    if (device.is_cuda()) {
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      impl->group = std::make_unique<process_group_detail::CollectivesOf<c10d::ProcessGroupNCCL>>(
          c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, options.rank, options.world_size,
                                                      nccl));
      impl->backend = "nccl";
    }
#endif
#ifdef MEDSEG_WITH_GLOO
    if (!impl->group) {
      auto gloo = c10d::ProcessGroupGloo::Options::create();
      gloo->timeout = timeout;
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
          ifname != nullptr && *ifname != '\0')
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(options.master_addr))
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      impl->group = std::make_unique<process_group_detail::CollectivesOf<c10d::ProcessGroupGloo>>(
          c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, options.rank, options.world_size,
                                                      gloo));
      impl->backend = "gloo";
    }
#endif
  } catch (const std::exception& e) {
    throw Error("distributed training (rank " + std::to_string(options.rank) + ")",
                "creating the process group through " + address + " failed: " + e.what());
  }
  if (!impl->group)
    throw Error("distributed training",
                std::string("this build has no process-group backend for ") + device.str() +
                    ": it was compiled without Gloo's headers (Debian: libgloo-dev)");
  return std::unique_ptr<Communicator>(new Communicator(std::move(impl)));
}

int Communicator::rank() const {
  return impl_->options.rank;
}
int Communicator::world_size() const {
  return impl_->options.world_size;
}
const std::string& Communicator::backend() const {
  return impl_->backend;
}

at::Tensor Communicator::sum(const at::Tensor& tensor) {
  torch::NoGradGuard no_grad;
  const bool staged = impl_->staged(tensor);
  std::vector<at::Tensor> buffer{staged ? tensor.detach().cpu().contiguous()
                                        : tensor.detach().clone().contiguous()};
  impl_->allreduce_wait(buffer, "sum");
  return staged ? buffer[0].to(tensor.device()) : buffer[0];
}

RankSum Communicator::summer() {
  return [this](const at::Tensor& t) { return sum(t); };
}

bool Communicator::any(bool flag) {
  return sum(at::full({1}, flag ? 1.0 : 0.0, at::kFloat)).item<float>() > 0;
}

double Communicator::mean(double value) {
  return sum(at::full({1}, value, at::kDouble)).item<double>() / world_size();
}

void Communicator::broadcast_from_rank0(const std::vector<at::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const at::Tensor& t : tensors) {
    std::vector<at::Tensor> buffer{
        impl_->staged(t) || !t.is_contiguous() ? t.detach().cpu().contiguous() : t.detach()};
    try {
      impl_->group->broadcast(buffer);
    } catch (const std::exception& e) {
      impl_->fail("broadcast", e);
    }
    if (!buffer[0].is_same(t)) t.detach().copy_(buffer[0]);
  }
}

void Communicator::barrier() {
  try {
    impl_->group->barrier();
  } catch (const std::exception& e) {
    impl_->fail("barrier", e);
  }
}

void Communicator::sum_gradients(const std::vector<at::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  struct Bucket {
    std::vector<at::Tensor> grads;
    int64_t bytes = 0;
  };
  std::vector<Bucket> buckets;
  for (const at::Tensor& p : parameters) {
    const at::Tensor g = p.grad();
    if (!g.defined()) continue;  // the same parameters lack gradients on every rank
    const int64_t bytes = g.numel() * static_cast<int64_t>(g.element_size());
    const bool fits = !buckets.empty() && buckets.back().bytes + bytes <= kBucketBytes &&
                      buckets.back().grads.front().scalar_type() == g.scalar_type() &&
                      buckets.back().grads.front().device() == g.device();
    if (!fits) buckets.emplace_back();
    buckets.back().grads.push_back(g);
    buckets.back().bytes += bytes;
  }
  std::vector<std::vector<at::Tensor>> flat(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> work;
  try {
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      std::vector<at::Tensor> pieces;
      for (const at::Tensor& g : buckets[b].grads) pieces.push_back(g.reshape({-1}));
      at::Tensor joined = at::cat(pieces);
      if (impl_->staged(joined)) joined = joined.cpu();
      flat[b] = {joined};
      work.push_back(impl_->group->allreduce(flat[b]));
    }
    for (auto& w : work) w->wait();
  } catch (const std::exception& e) {
    impl_->fail("gradient all-reduce", e);
  }
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const at::Tensor joined = flat[b][0].to(buckets[b].grads.front().device());
    int64_t offset = 0;
    for (at::Tensor& g : buckets[b].grads) {
      g.copy_(joined.slice(0, offset, offset + g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

void Communicator::check_replicas_identical(const std::vector<at::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> sums;
  for (const at::Tensor& p : parameters) {
    const at::Tensor d = p.detach().to(at::kDouble).reshape({-1});
    const at::Tensor position = at::arange(d.numel(), d.options()).remainder(7).add_(1);
    sums.push_back(at::stack({d.sum(), (d * d).sum(), (d * position).sum()}));
  }
  const at::Tensor mine = at::stack(sums).cpu();
  const at::Tensor rank0 = mine.clone();
  broadcast_from_rank0({rank0});
  const bool differs = !at::equal(mine, rank0);
  if (any(differs)) {
    int64_t first = 0;
    while (first < mine.size(0) && at::equal(mine[first], rank0[first])) ++first;
    throw Error("distributed training (rank " + std::to_string(rank()) + ")",
                differs ? "this rank's weights differ from rank 0's (first at parameter tensor " +
                              std::to_string(first) + "): the replicas diverged"
                        : "another rank's weights differ from rank 0's: the replicas diverged");
  }
}

}  // namespace medseg
