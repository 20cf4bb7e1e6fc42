// Data-parallel training over libtorch's c10d process groups (the reference's DDP): a TCPStore
// rendezvous at MASTER_ADDR:MASTER_PORT, NCCL between CUDA devices when the build has it, Gloo
// otherwise (CPU tensors; CUDA tensors staged through host memory). Every rank holds a replica
// of the network; each takes its share of the global batch and the summed gradients make every
// replica take the same step. Single-process training never creates a Communicator.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "medseg/train/distributed_options.h"

namespace medseg {

// The sum of a tensor over all ranks (a new tensor); what the loss and pseudo-Dice reduce with.
using RankSum = std::function<at::Tensor(const at::Tensor&)>;

class Communicator {
 public:
  // Rendezvous with the other ranks (rank 0 hosts the TCPStore) and creates the process group:
  // NCCL for a CUDA device when built with it, else Gloo. Throws Error naming the address
  // after the timeout when the other ranks never come.
  static std::unique_ptr<Communicator> connect(const DistributedOptions& options,
                                               c10::Device device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int world_size() const;
  const std::string& backend() const;  // "gloo" or "nccl"

  // The sum over all ranks of `tensor` (a new tensor on the same device).
  at::Tensor sum(const at::Tensor& tensor);
  RankSum summer();
  // True on every rank when `flag` is true on any (e.g. an interrupt seen by one rank).
  bool any(bool flag);
  // The mean over ranks of one number per rank.
  double mean(double value);
  void broadcast_from_rank0(const std::vector<at::Tensor>& tensors);
  void barrier();

  // Sums the parameters' gradients over the ranks in buckets of about 25 MiB (the reference's
  // DDP bucket size), all bucket reductions in flight at once.
  void sum_gradients(const std::vector<at::Tensor>& parameters);

  // Throws Error when any rank's parameters differ from rank 0's (a checksum per tensor).
  void check_replicas_identical(const std::vector<at::Tensor>& parameters);

 private:
  struct Impl;
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace medseg
