// The settings of a data-parallel run (torch-free): world size, ranks, the rendezvous address,
// as the command line or a torchrun-style launcher gives them, and how a rank's share of the
// global batch is cut. The communication itself: train/distributed.h.
#pragma once

#include <cstdint>
#include <string>

namespace medseg {

struct DistributedOptions {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;        // rank on this machine: picks cuda:<local_rank> for `--device cuda`
  int local_world_size = 1;  // ranks on this machine: shares its cores between them
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int timeout_seconds = 1800;  // rendezvous and each collective; torch's default
  bool enabled() const { return world_size > 1; }
};

// The torchrun / Slurm-launcher variables WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT over `defaults` (unset variables keep them). A value that is not a
// number throws UsageError naming the variable.
DistributedOptions distributed_options_from_environment(DistributedOptions defaults = {});

// Throws UsageError for a rank outside [0, world_size), a port outside 1..65535, ...
void validate_distributed_options(const DistributedOptions& options);

// One rank's share of the global batch, as the reference splits it: the first
// (global % world) ranks take one sample more, and the foreground oversampling is set per rank
// so that the global batch keeps the configured fraction (the reference's
// _set_batch_size_and_oversample). Throws UsageError when the batch is smaller than the world.
struct RankBatch {
  int64_t batch_size = 0;
  double oversample_foreground = 0;
  int64_t first_sample = 0;  // position of this rank's first sample in the global batch
};
RankBatch rank_batch(int64_t global_batch, double oversample_foreground, int world_size, int rank);

// The seed of rank `rank`'s batch sequences: the run's own seed on rank 0 (a one-process run
// draws the same batches), distinct well-mixed seeds on the others.
uint64_t rank_seed(uint64_t seed, int rank);

}  // namespace medseg
