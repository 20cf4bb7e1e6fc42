// The caching CPU allocator: size classes, reuse of freed blocks, the bound on cached memory.
#include "medseg/io/cpu_allocator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/io/runtime.h"

namespace medseg {
namespace {

constexpr std::size_t kKiB = 1024, kMiB = 1024 * 1024;

TEST(CpuAllocator, SizeClassesRoundUpByAtMostAnEighth) {
  EXPECT_EQ(cached_block_size(256 * kKiB), 256 * kKiB);
  EXPECT_EQ(cached_block_size(256 * kKiB + 1), 320 * kKiB);
  EXPECT_EQ(cached_block_size(kMiB), kMiB);
  EXPECT_EQ(cached_block_size(kMiB + 1), kMiB + 128 * kKiB);  // power 1 MiB, step 128 KiB
  EXPECT_EQ(cached_block_size(80 * kMiB), 80 * kMiB);         // power 64 MiB, step 8 MiB
  EXPECT_EQ(cached_block_size(80 * kMiB + 1), 88 * kMiB);
  for (std::size_t n = kCachedAllocationMin; n < 300 * kMiB; n = n * 5 / 4 + 12345) {
    const std::size_t block = cached_block_size(n);
    EXPECT_GE(block, n);
    EXPECT_LE(block - n, std::max<std::size_t>(64 * kKiB, n / 8)) << n;
  }
}

class CpuAllocatorInstalled : public ::testing::Test {
 protected:
  void SetUp() override {
    configure_allocator();
    ASSERT_TRUE(cpu_caching_allocator_installed());
  }
};

TEST_F(CpuAllocatorInstalled, AFreedBlockServesTheNextRequestOfItsSize) {
  const CpuAllocatorStats before = cpu_allocator_stats();
  void* first = nullptr;
  {
    at::Tensor t = torch::full({3 * 1024 * 1024 / 4}, 2.5f);  // 3 MiB
    first = t.data_ptr();
    EXPECT_EQ(cpu_allocator_stats().live_bytes, before.live_bytes + 3 * kMiB);
  }
  const CpuAllocatorStats freed = cpu_allocator_stats();
  EXPECT_EQ(freed.live_bytes, before.live_bytes);
  EXPECT_GE(freed.cached_bytes, 3 * kMiB);
  at::Tensor again = torch::zeros({3 * 1024 * 1024 / 4});
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(cpu_allocator_stats().hits, freed.hits + 1);
  EXPECT_EQ(again.sum().item<float>(), 0.0f) << "a reused block holds what the tensor wrote";
}

TEST_F(CpuAllocatorInstalled, SmallTensorsBypassTheCache) {
  const CpuAllocatorStats before = cpu_allocator_stats();
  at::Tensor small = torch::ones({1000});
  EXPECT_EQ(small.sum().item<float>(), 1000.0f);
  const CpuAllocatorStats after = cpu_allocator_stats();
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_EQ(after.hits + after.misses, before.hits + before.misses);
}

// Sizes that never repeat would make a naive cache grow without end; here the blocks mapped
// stay within the peak of live bytes plus the slack, the rest is given back.
TEST_F(CpuAllocatorInstalled, CachedMemoryStaysWithinThePeakLiveSizePlusSlack) {
  release_cached_cpu_memory();
  const CpuAllocatorStats before = cpu_allocator_stats();
  for (int i = 0; i < 24; ++i) {
    at::Tensor t = torch::empty({static_cast<int64_t>((9 + i) * kMiB / 4)});  // 9, 10, ... 32 MiB
    t.fill_(1.0f);
    const CpuAllocatorStats s = cpu_allocator_stats();
    EXPECT_LE(s.live_bytes + s.cached_bytes, s.peak_live_bytes + kAllocatorSlack + 32 * kMiB) << i;
  }
  const CpuAllocatorStats after = cpu_allocator_stats();
  EXPECT_GT(after.released_bytes, before.released_bytes);
  release_cached_cpu_memory();
  EXPECT_EQ(cpu_allocator_stats().cached_bytes, 0u);
}

// oneDNN allocates through raw_allocate / raw_deallocate, which need one raw deleter for
// both kinds of block.
TEST_F(CpuAllocatorInstalled, RawAllocationsOfBothKindsAreReturned) {
  const CpuAllocatorStats before = cpu_allocator_stats();
  c10::Allocator* allocator = c10::GetAllocator(c10::kCPU);
  void* small = allocator->raw_allocate(100);
  void* large = allocator->raw_allocate(2 * kMiB);
  ASSERT_NE(small, nullptr);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(cpu_allocator_stats().live_bytes, before.live_bytes + 2 * kMiB);
  allocator->raw_deallocate(small);
  allocator->raw_deallocate(large);
  EXPECT_EQ(cpu_allocator_stats().live_bytes, before.live_bytes);
}

TEST_F(CpuAllocatorInstalled, TensorsFromManyThreadsAreServedAndReturned) {
  const CpuAllocatorStats before = cpu_allocator_stats();
  at::parallel_for(0, 64, 1, [](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      at::Tensor t = torch::full({static_cast<int64_t>(kMiB / 4 + i * 1024)}, static_cast<float>(i));
      EXPECT_EQ(t[0].item<float>(), static_cast<float>(i));
    }
  });
  EXPECT_EQ(cpu_allocator_stats().live_bytes, before.live_bytes);
}

}  // namespace
}  // namespace medseg
