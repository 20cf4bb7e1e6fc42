// Data-parallel training on CPU with Gloo: the batch split, the environment, and two ranks in
// two threads of this process (each its own Communicator over a real TCPStore on 127.0.0.1):
// collectives, gradient sums, and training steps that end with identical weights on both ranks,
// equal (within float tolerance) to one process stepping on the whole batch.
#include "medseg/train/distributed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include "medseg/core/error.h"
#include "medseg/data/patch_sampler.h"
#include "medseg/loss/deep_supervision.h"
#include "medseg/nn/unet.h"
#include "medseg/train/local_launcher.h"
#include "medseg/train/pseudo_dice.h"
#include "medseg/train/training_step.h"
#include "support/plans_builder.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

TEST(RankBatch, SplitsTheGlobalBatchAsTheReference) {
  const RankBatch a = rank_batch(7, 0.33, 2, 0);
  const RankBatch b = rank_batch(7, 0.33, 2, 1);
  EXPECT_EQ(a.batch_size, 4);
  EXPECT_EQ(b.batch_size, 3);
  EXPECT_EQ(b.first_sample, 4);
  const RankBatch c = rank_batch(2, 0.33, 2, 1);
  EXPECT_EQ(c.batch_size, 1);
  EXPECT_NEAR(c.oversample_foreground, 1 - (0.67 - 0.5) / 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(rank_batch(2, 0.33, 2, 0).oversample_foreground, 0.0);
  EXPECT_THROW(rank_batch(1, 0.33, 2, 0), UsageError);
  EXPECT_THROW(rank_batch(4, 0.33, 2, 2), UsageError);
}

TEST(RankBatch, KeepsTheGlobalNumberOfForegroundSamples) {
  for (int64_t global : {2, 3, 4, 7, 9}) {
    for (int world : {1, 2, 3}) {
      if (global < world) continue;
      int64_t total = 0, forced = 0, single = 0;
      for (int r = 0; r < world; ++r) {
        const RankBatch share = rank_batch(global, 0.33, world, r);
        total += share.batch_size;
        for (int64_t i = 0; i < share.batch_size; ++i)
          forced += is_forced_foreground(i, share.batch_size, share.oversample_foreground);
      }
      for (int64_t i = 0; i < global; ++i) single += is_forced_foreground(i, global, 0.33);
      EXPECT_EQ(total, global);
      EXPECT_EQ(forced, single) << "batch " << global << " over " << world << " ranks";
    }
  }
}

TEST(RankSeed, RankZeroKeepsTheRunsSeed) {
  EXPECT_EQ(rank_seed(12345, 0), 12345u);
  EXPECT_NE(rank_seed(12345, 1), 12345u);
  EXPECT_NE(rank_seed(12345, 1), rank_seed(12345, 2));
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty())
      ::unsetenv(name_);
    else
      ::setenv(name_, old_.c_str(), 1);
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(DistributedOptions, ReadsTheTorchrunVariables) {
  ScopedEnv w("WORLD_SIZE", "4"), r("RANK", "3"), lr("LOCAL_RANK", "1"),
      lw("LOCAL_WORLD_SIZE", "2"), a("MASTER_ADDR", "node7"), p("MASTER_PORT", "29611");
  const DistributedOptions o = distributed_options_from_environment();
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.rank, 3);
  EXPECT_EQ(o.local_rank, 1);
  EXPECT_EQ(o.local_world_size, 2);
  EXPECT_EQ(o.master_addr, "node7");
  EXPECT_EQ(o.master_port, 29611);
  EXPECT_TRUE(o.enabled());
  EXPECT_NO_THROW(validate_distributed_options(o));
}

TEST(DistributedOptions, NamesABadVariableOrValue) {
  {
    ScopedEnv r("RANK", "one");
    try {
      distributed_options_from_environment();
      FAIL() << "no error";
    } catch (const UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr("RANK"));
    }
  }
  DistributedOptions o;
  o.world_size = 2;
  o.rank = 2;
  EXPECT_THROW(validate_distributed_options(o), UsageError);
  o.rank = 1;
  o.master_port = 70000;
  EXPECT_THROW(validate_distributed_options(o), UsageError);
}

TEST(LocalLauncher, RemovesTheNprocOption) {
  const std::vector<std::string> argv = {"medseg", "train", "w", "--nproc",
                                         "2",      "-f",    "0", "--nproc=3"};
  EXPECT_EQ(remove_option(argv, "nproc"),
            (std::vector<std::string>{"medseg", "train", "w", "-f", "0"}));
  const int port = free_local_port();
  EXPECT_GT(port, 0);
  EXPECT_LE(port, 65535);
}

// Runs body(rank, communicator) on two ranks in two threads; rethrows a rank's failure.
void two_ranks(const std::function<void(int, Communicator&)>& body) {
  DistributedOptions o;
  o.world_size = 2;
  o.master_port = free_local_port();
  o.timeout_seconds = 60;
  std::exception_ptr failure[2];
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        DistributedOptions mine = o;
        mine.rank = rank;
        mine.local_rank = 0;
        const auto comm = Communicator::connect(mine, c10::Device(c10::kCPU));
        body(rank, *comm);
      } catch (...) {
        failure[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& f : failure)
    if (f) std::rethrow_exception(f);
}

TEST(Communicator, SumsBroadcastsAndAgrees) {
  two_ranks([](int rank, Communicator& comm) {
    EXPECT_EQ(comm.world_size(), 2);
    EXPECT_EQ(comm.backend(), "gloo");
    const at::Tensor mine = at::full({3}, rank + 1.0);
    EXPECT_TRUE(at::equal(comm.sum(mine), at::full({3}, 3.0)));
    EXPECT_TRUE(at::equal(mine, at::full({3}, rank + 1.0)));  // the input is left alone
    EXPECT_DOUBLE_EQ(comm.mean(rank == 0 ? 1.0 : 4.0), 2.5);
    EXPECT_TRUE(comm.any(rank == 1));
    EXPECT_FALSE(comm.any(false));
    at::Tensor value = at::full({2, 2}, rank == 0 ? 7.0 : -1.0);
    comm.broadcast_from_rank0({value});
    EXPECT_TRUE(at::equal(value, at::full({2, 2}, 7.0)));
    PseudoDice dice;
    const at::Tensor logits =
        at::zeros({1, 2, 2, 2}).index_put_({0, rank, at::indexing::Slice()}, 1.0);
    dice.add(logits, at::ones({1, 1, 2, 2}, at::kLong));  // rank 0: 2 FN, rank 1: 2 TP
    dice.sum_over_ranks(comm.summer());
    ASSERT_EQ(dice.per_class().size(), 1u);
    EXPECT_DOUBLE_EQ(dice.per_class()[0], 2.0 * 2 / (2 * 2 + 0 + 2));
  });
}

TEST(Communicator, SumsGradientsAcrossBucketsAndChecksReplicas) {
  two_ranks([](int rank, Communicator& comm) {
    // Two tensors over 25 MiB each: three buckets, one of them shared by the small ones.
    std::vector<at::Tensor> params;
    for (const int64_t n : {int64_t{7}, int64_t{7} << 20, int64_t{5}, int64_t{7} << 20}) {
      at::Tensor p = at::zeros({n}).requires_grad_();
      p.mutable_grad() = at::arange(n, at::kFloat).remainder(13) * (rank + 1);
      params.push_back(p);
    }
    params.push_back(at::zeros({4}).requires_grad_());  // no gradient: skipped on every rank
    comm.sum_gradients(params);
    for (std::size_t i = 0; i < 4; ++i)
      EXPECT_TRUE(
          at::equal(params[i].grad(), at::arange(params[i].numel(), at::kFloat).remainder(13) * 3))
          << i;
    EXPECT_FALSE(params[4].grad().defined());

    std::vector<at::Tensor> weights = {at::arange(10, at::kFloat), at::ones({3, 3})};
    EXPECT_NO_THROW(comm.check_replicas_identical(weights));
    if (rank == 1) weights[1][1][2] = 1.0001f;
    try {
      comm.check_replicas_identical(weights);
      ADD_FAILURE() << "rank " << rank << ": diverged replicas not found";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("diverged"));
      if (rank == 1) {
        EXPECT_THAT(e.what(), HasSubstr("parameter tensor 1"));
      }
    }
  });
}

ConfigurationPlan tiny_configuration() {
  Plans plans = testing::minimal_plans({1.0, 1.0, 1.0});
  ConfigurationPlan c = plans.configurations.at("3d_fullres");
  c.patch_size = {8, 8, 8};
  ArchitecturePlan& a = c.architecture;
  a.n_stages = 3;
  a.features_per_stage = {4, 8, 8};
  a.kernel_sizes = {{3, 3, 3}, {3, 3, 3}, {3, 3, 3}};
  a.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}};
  a.n_conv_per_stage = {1, 1, 1};
  a.n_conv_per_stage_decoder = {1, 1};
  return c;
}

// A finished batch of the given samples of a fixed random global batch of 2.
Batch global_batch_part(const ConfigurationPlan& c, int64_t first, int64_t count) {
  torch::manual_seed(7);
  const at::Tensor data = at::randn({2, 1, 8, 8, 8});
  const at::Tensor labels = (at::rand({2, 1, 8, 8, 8}) * 3).to(at::kShort);
  Batch batch;
  batch.data = data.slice(0, first, first + count);
  batch.targets = downsample_targets(labels.slice(0, first, first + count),
                                     deep_supervision_scales(c.architecture.strides));
  return batch;
}

// Three SGD steps; world 1 steps on the whole batch, world 2 each rank on its sample.
std::mutex g_rng_mutex;  // the ranks' threads share torch's global generator

std::vector<at::Tensor> train_three_steps(const ConfigurationPlan& c, bool batch_dice,
                                          Communicator* comm) {
  std::unique_lock<std::mutex> rng_lock(g_rng_mutex);
  torch::manual_seed(3);
  UNet net = make_unet(c, 1, 3, /*deep_supervision=*/true);
  torch::optim::SGD sgd(
      net->parameters(),
      torch::optim::SGDOptions(0.01).momentum(0.99).nesterov(true).weight_decay(3e-5));
  SegmentationLossOptions options;
  options.terms.batch_dice = batch_dice;
  StepOptions step;
  step.grad_clip_norm = 12;
  const int64_t first = comm != nullptr ? comm->rank() : 0;
  const int64_t count = comm != nullptr ? 1 : 2;
  if (comm != nullptr) {
    options.terms.rank_share = 0.5;
    if (batch_dice) options.terms.sum_over_ranks = comm->summer();
    step.communicator = comm;
  }
  const SegmentationLoss loss(options, static_cast<std::size_t>(c.architecture.n_stages - 1));
  const Batch batch = global_batch_part(c, first, count);
  rng_lock.unlock();
  net->train();
  for (int i = 0; i < 3; ++i) train_step(net, sgd, loss, batch, step);
  std::vector<at::Tensor> weights;
  for (const at::Tensor& p : net->parameters()) weights.push_back(p.detach().clone());
  return weights;
}

class DataParallelSteps : public ::testing::TestWithParam<bool> {};

TEST_P(DataParallelSteps, TwoRanksEqualOneProcessOnTheGlobalBatch) {
  const ConfigurationPlan c = tiny_configuration();
  const bool batch_dice = GetParam();
  const std::vector<at::Tensor> single = train_three_steps(c, batch_dice, nullptr);
  std::vector<at::Tensor> ranks[2];
  two_ranks(
      [&](int rank, Communicator& comm) { ranks[rank] = train_three_steps(c, batch_dice, &comm); });
  ASSERT_EQ(ranks[0].size(), single.size());
  double largest_change = 0;
  for (std::size_t i = 0; i < single.size(); ++i) {
    EXPECT_TRUE(at::equal(ranks[0][i], ranks[1][i]))
        << "parameter " << i << " differs between the ranks";
    EXPECT_TRUE(at::allclose(ranks[0][i], single[i], 1e-4, 1e-6))
        << "parameter " << i << ": max difference "
        << (ranks[0][i] - single[i]).abs().max().item<double>();
  }
  // The steps did move the weights (the comparison is not between untouched copies).
  torch::manual_seed(3);
  const UNet initial = make_unet(c, 1, 3, true);
  const auto start = initial->parameters();
  for (std::size_t i = 0; i < single.size(); ++i)
    largest_change = std::max(largest_change, (single[i] - start[i]).abs().max().item<double>());
  EXPECT_GT(largest_change, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(BatchDice, DataParallelSteps, ::testing::Bool());

}  // namespace
}  // namespace medseg
