#include "medseg/data/data_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <future>

#include "medseg/core/error.h"
#include "unit/data/synthetic_cases.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::shared_ptr<const CaseSource> cases() {
  std::vector<TrainingCase> list;
  for (int i = 0; i < 4; ++i)
    list.push_back(testing::box_case("c" + std::to_string(i), {14 + i, 16, 12}, {3, 4, 2},
                                     {8 + i, 9, 7}, 1 + i % 2));
  return std::make_shared<InMemoryCaseSource>(std::move(list));
}

BatchOptions options() {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.batch_size = 3;
  c.patch_size = {8, 8, 8};
  c.architecture.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}};
  return training_batch_options(c, {}, true);
}

std::vector<Batch> take(DataLoader& loader, int n) {
  std::vector<Batch> batches;
  for (int i = 0; i < n; ++i) batches.push_back(loader.next());
  return batches;
}

bool same(const Batch& a, const Batch& b) {
  if (a.case_ids != b.case_ids || !torch::equal(a.data, b.data)) return false;
  for (std::size_t i = 0; i < a.targets.size(); ++i)
    if (!torch::equal(a.targets[i], b.targets[i])) return false;
  return true;
}

// Waits (bounded) until pred holds; false on timeout.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(10ms);
  return pred();
}

TEST(DataLoader, SameSeedSameBatchesWhateverTheThreads) {
  LoaderOptions two;
  two.workers = 2;
  auto a = make_batch_loader(cases(), options(), 7, two);
  auto b = make_batch_loader(cases(), options(), 7, two);
  LoaderOptions one;
  one.workers = 1;
  auto c = make_batch_loader(cases(), options(), 7, one);
  auto other_seed = make_batch_loader(cases(), options(), 8, two);
  const auto x = take(*a, 6), y = take(*b, 6), z = take(*c, 6), w = take(*other_seed, 6);
  int differing = 0;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(x[i].index, i);
    EXPECT_TRUE(same(x[i], y[i])) << "batch " << i;
    EXPECT_TRUE(same(x[i], z[i])) << "batch " << i;
    differing += !same(x[i], w[i]);
  }
  EXPECT_EQ(differing, 6);
}

TEST(DataLoader, SampledStageLeavesTheAugmentationToTheTrainer) {
  LoaderOptions o;
  o.workers = 2;
  auto sampled = make_batch_loader(cases(), options(), 3, o, WorkerStage::kSampled);
  auto finished = make_batch_loader(cases(), options(), 3, o);
  for (int i = 0; i < 3; ++i) {
    Batch b = sampled->next();
    EXPECT_FALSE(b.finished());
    finish_batch(b, options());  // where the trainer wants it (the GPU in training)
    EXPECT_TRUE(same(b, finished->next())) << "batch " << i;
  }
}

TEST(DataLoader, DeliversInIndexOrderWithinABoundedQueue) {
  std::atomic<int> made{0};
  LoaderOptions o;
  o.workers = 3;
  o.queue_capacity = 4;
  o.first_index = 10;
  DataLoader loader(
      [&](int64_t index) {
        std::this_thread::sleep_for(std::chrono::milliseconds((index * 7) % 5));
        ++made;
        Batch b;
        b.index = index;
        return b;
      },
      o);
  EXPECT_EQ(loader.workers(), 3);
  for (int64_t i = 10; i < 30; ++i) EXPECT_EQ(loader.next().index, i);
  // Never more than 4 batches ahead of the consumer.
  EXPECT_TRUE(eventually([&] { return made.load() == 24; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(made.load(), 24);
}

TEST(DataLoader, StopsPromptlyWhileWorkersWaitOnAFullQueue) {
  std::atomic<int> made{0};
  auto loader = std::make_unique<DataLoader>(
      [&](int64_t index) {
        ++made;
        return Batch{};
      },
      LoaderOptions{2, 2, 0});
  loader->next();
  ASSERT_TRUE(eventually([&] { return made.load() == 3; }));  // both workers now wait for space
  auto destroyed = std::async(std::launch::async, [&] { loader.reset(); });
  ASSERT_EQ(destroyed.wait_for(10s), std::future_status::ready) << "the destructor hangs";
}

TEST(DataLoader, StopsMidEpochWithRealBatches) {
  LoaderOptions o;
  o.workers = 2;
  auto loader = make_batch_loader(cases(), options(), 1, o);
  loader->next();
  auto destroyed = std::async(std::launch::async, [&] { loader.reset(); });
  ASSERT_EQ(destroyed.wait_for(30s), std::future_status::ready) << "the destructor hangs";
}

TEST(DataLoader, RethrowsAWorkerExceptionOnNext) {
  DataLoader loader(
      [](int64_t index) {
        if (index == 2) throw Error("case broken", "cannot read the data array");
        Batch b;
        b.index = index;
        return b;
      },
      LoaderOptions{2, 4, 0});
  EXPECT_EQ(loader.next().index, 0);
  EXPECT_EQ(loader.next().index, 1);
  for (int attempt = 0; attempt < 2; ++attempt)
    EXPECT_THAT([&] { loader.next(); },
                ::testing::ThrowsMessage<Error>(HasSubstr("case broken: cannot read the data array")));
}

// A source whose storage fails on one case, as a damaged file would.
class FailingSource : public CaseSource {
 public:
  std::size_t size() const override { return 3; }
  std::shared_ptr<const TrainingCase> get(std::size_t i) const override {
    throw Error("case " + std::to_string(i), "truncated data file");
  }
};

TEST(DataLoader, SurfacesCaseSourceErrors) {
  auto loader = make_batch_loader(std::make_shared<FailingSource>(), options(), 0, LoaderOptions{2, 0, 0});
  EXPECT_THAT([&] { loader->next(); }, ::testing::ThrowsMessage<Error>(HasSubstr("truncated data file")));
}

TEST(DataLoader, WorkersRunTheirOpsOnOneThreadWithoutChangingTheProcessSetting) {
  if (at::get_parallel_info().find("OpenMP") == std::string::npos)
    GTEST_SKIP() << "libtorch is not an OpenMP build: no per-thread setting";
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  std::atomic<int> seen{0};
  auto probe = [&](bool single) {
    LoaderOptions o;
    o.workers = 1;
    o.single_threaded_workers = single;
    DataLoader loader([&](int64_t) { seen = at::get_num_threads(); return Batch{}; }, o);
    loader.next();
    return seen.load();
  };
  EXPECT_EQ(probe(true), 1);
  EXPECT_EQ(probe(false), 2);
  EXPECT_EQ(at::get_num_threads(), 2);  // the calling thread keeps its setting
  at::set_num_threads(before);
}

TEST(DataLoader, DefaultWorkersLeaveTorchItsThreads) {
  EXPECT_GE(default_loader_workers(), 1);
  LoaderOptions o;
  auto loader = std::make_unique<DataLoader>([](int64_t) { return Batch{}; }, o);
  EXPECT_EQ(loader->workers(), default_loader_workers());
  EXPECT_EQ(loader->queue_capacity(), 2u * static_cast<std::size_t>(default_loader_workers()));
}

}  // namespace
}  // namespace medseg
