// hak_stats_get: argument checking, versioned partial fills, and counters
// that follow the allocations made.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "capi/hakmem.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace hakmem_test {
namespace {

TEST(StatsTest, NullFailsWithEinval) {
  errno = 0;
  EXPECT_EQ(hak_stats_get(nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(StatsTest, UnknownVersionFailsWithEinval) {
  for (uint32_t version : {0u, HAK_STATS_VERSION + 1u, 0xFFFFFFFFu}) {
    hak_stats s{};
    s.version = version;
    s.size = sizeof s;
    errno = 0;
    EXPECT_EQ(hak_stats_get(&s), -1) << "version " << version;
    EXPECT_EQ(errno, EINVAL) << "version " << version;
  }
}

TEST(StatsTest, FieldsBeyondSizeAreNotWritten) {
  void* p = hak_malloc(100);  // Something is mapped now.
  ASSERT_NE(p, nullptr);
  hak_stats s;
  std::memset(&s, 0xEE, sizeof s);
  s.version = HAK_STATS_VERSION;
  s.size = offsetof(hak_stats, os_mapped_peak_bytes);
  ASSERT_EQ(hak_stats_get(&s), 0);
  EXPECT_GT(s.os_mapped_bytes, 0u);
  EXPECT_NE(s.os_mapped_bytes, 0xEEEEEEEEEEEEEEEEull);
  const auto* tail = reinterpret_cast<const unsigned char*>(&s) + s.size;
  for (size_t i = 0; i < sizeof s - s.size; ++i) {
    ASSERT_EQ(tail[i], 0xEE) << "byte " << s.size + i << " was written";
  }
  hak_free(p);
}

TEST(StatsTest, CountersFollowLargeAllocations) {
  constexpr size_t kSize = 8 * kMiB;
  const hak_stats before = Stats();
  void* p = hak_malloc(kSize);
  ASSERT_TRUE(WellFormed(p, kSize));
  FillPattern(p, kSize, 1);
  const hak_stats during = Stats();
  EXPECT_EQ(during.large_live, before.large_live + 1);
  EXPECT_GE(during.large_live_bytes, before.large_live_bytes + kSize);
  EXPECT_GE(during.os_mapped_bytes, during.large_live_bytes);
  EXPECT_GE(during.os_mapped_peak_bytes, during.os_mapped_bytes);
  EXPECT_GE(during.os_mapped_peak_bytes, before.os_mapped_peak_bytes);
  EXPECT_GE(during.os_map_calls, before.os_map_calls);
  EXPECT_TRUE(PatternIntact(p, kSize, 1));
  hak_free(p);
  const hak_stats after = Stats();
  EXPECT_EQ(after.large_live, before.large_live);
  EXPECT_EQ(after.large_live_bytes, before.large_live_bytes);
  EXPECT_GE(after.os_mapped_peak_bytes, during.os_mapped_peak_bytes);
  EXPECT_GE(after.os_unmap_calls, during.os_unmap_calls);
}

TEST(StatsTest, CountersFollowSmallAllocations) {
  const hak_stats before = Stats();
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) {
    blocks.push_back(hak_malloc(64));
    ASSERT_NE(blocks.back(), nullptr);
  }
  const hak_stats during = Stats();
  EXPECT_GE(during.threads_live, 1u);  // This thread has a heap.
  // 10000 blocks of 64 B cannot come from what was served before.
  EXPECT_GE(during.slab_blocks_served, before.slab_blocks_served + 1);
  EXPECT_GE(during.slabs_live, 1u);
  EXPECT_GE(during.superslabs_live, 1u);
  EXPECT_GE(during.os_mapped_bytes, 10000u * 64);
  for (void* p : blocks) hak_free(p);
}

TEST(StatsTest, BytesInUseEstimateFollowsAllocations) {
  // 16 MiB of 256 B blocks and one 8 MiB block: the estimate (an upper
  // one) grows by at least that, stays within what is mapped, and falls
  // back once they are freed and collected.
  constexpr size_t kSmall = 256, kCount = 16 * kMiB / kSmall, kLarge = 8 * kMiB;
  hak_collect(1);
  const hak_stats before = Stats();
  EXPECT_LE(before.bytes_in_use_estimate, before.os_mapped_bytes);
  std::vector<void*> blocks;
  for (size_t i = 0; i < kCount; ++i) {
    blocks.push_back(hak_malloc(kSmall));
    ASSERT_NE(blocks.back(), nullptr);
  }
  void* large = hak_malloc(kLarge);
  ASSERT_NE(large, nullptr);
  const hak_stats during = Stats();
  EXPECT_GE(during.bytes_in_use_estimate,
            before.bytes_in_use_estimate + kCount * kSmall + kLarge);
  EXPECT_LE(during.bytes_in_use_estimate, during.os_mapped_bytes);
  for (void* p : blocks) hak_free(p);
  hak_free(large);
  hak_collect(1);
  const hak_stats after = Stats();
  EXPECT_LE(after.bytes_in_use_estimate, before.bytes_in_use_estimate + kMiB);
  EXPECT_GT(after.decommit_budget_bytes, 0u);  // HAKMEM_DECOMMIT_BYTES, 8M
}

TEST(StatsTest, Version4FieldsFollowCachedLargeRunsAndAbandonedSpans) {
  // The large cache emptied, one freed 1 MiB block is cached: one run, of
  // at least its bytes.
  hak_collect(0);
  const hak_stats empty = Stats();
  EXPECT_EQ(empty.large_cached, 0u);
  EXPECT_EQ(empty.large_cached_bytes, 0u);
  void* large = hak_malloc(kMiB);
  ASSERT_TRUE(WellFormed(large, kMiB));
  hak_free(large);
  const hak_stats cached = Stats();
  EXPECT_EQ(cached.large_cached, 1u);
  EXPECT_GE(cached.large_cached_bytes, kMiB);
  hak_collect(0);
  EXPECT_EQ(Stats().large_cached_bytes, 0u);

  // A thread that exits with blocks live abandons their span; the last
  // free into it releases it.
  const hak_stats before = Stats();
  std::vector<void*> blocks;
  std::thread([&] {
    for (int i = 0; i < 100; ++i) blocks.push_back(hak_malloc(2000));
  }).join();
  EXPECT_GE(Stats().spans_abandoned, before.spans_abandoned + 1);
  for (void* p : blocks) hak_free(p);
  EXPECT_LE(Stats().spans_abandoned, before.spans_abandoned);
}

TEST(StatsTest, SlabsPerClassFollowAllocations) {
  const size_t classes = hak_stats_slabs_per_class(nullptr, 0);
  ASSERT_GT(classes, 0u);
  EXPECT_EQ(hak_class_size(classes), 0u);
  // Classes in order of block size, each a multiple of 16.
  for (size_t c = 1; c < classes; ++c) {
    EXPECT_GT(hak_class_size(c), hak_class_size(c - 1));
    EXPECT_EQ(hak_class_size(c) % 16, 0u);
  }
  auto slabs_of = [&](size_t block_size) {
    std::vector<uint64_t> slabs(classes);
    EXPECT_EQ(hak_stats_slabs_per_class(slabs.data(), slabs.size()), classes);
    for (size_t c = 0; c < classes; ++c) {
      if (hak_class_size(c) == block_size) return slabs[c];
    }
    ADD_FAILURE() << "no class of " << block_size << " B";
    return uint64_t{0};
  };
  // 4 MiB of 48 B blocks need at least 64 slabs of 64 KiB in that class.
  const uint64_t before = slabs_of(48);
  std::vector<void*> blocks;
  for (size_t i = 0; i < 4 * kMiB / 48; ++i) {
    blocks.push_back(hak_malloc(48));
    ASSERT_NE(blocks.back(), nullptr);
  }
  EXPECT_GE(slabs_of(48), before + 64);
  for (void* p : blocks) hak_free(p);
  hak_collect(1);
  EXPECT_LE(slabs_of(48), before + 1);
}

}  // namespace
}  // namespace hakmem_test
