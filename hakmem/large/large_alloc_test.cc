#include "hakmem/large/large_alloc.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/config/config.h"
#include "hakmem/platform/os_memory.h"

namespace hakmem::internal {
namespace {

TEST(LargeAllocTest, BlocksArePageAlignedZeroedAndTracked) {
  std::vector<void*> blocks;
  for (size_t size : {size_t{300000}, size_t{1} << 20, size_t{3} << 20}) {
    auto* p = static_cast<unsigned char*>(LargeAlloc(size, 0, true));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kPageSize, 0u);
    EXPECT_GE(LargeUsableSize(p), size);
    for (size_t i = 0; i < size; i += 4096) ASSERT_EQ(p[i], 0);
    std::memset(p, 0xAB, size);
    blocks.push_back(p);
  }
  EXPECT_EQ(GetLargeStats().live, blocks.size());
  int local = 0;
  EXPECT_FALSE(LargeFree(&local));
  EXPECT_FALSE(LargeFree(static_cast<char*>(blocks[0]) + 4096));
  EXPECT_EQ(LargeUsableSize(static_cast<char*>(blocks[0]) + 16), 0u);
  for (void* p : blocks) EXPECT_TRUE(LargeFree(p));
  EXPECT_EQ(GetLargeStats().live, 0u);
  // Freed twice: no longer live.
  EXPECT_FALSE(LargeFree(blocks[0]));
}

TEST(LargeAllocTest, CachedRegionsAreReusedAndZeroedOnRequest) {
  auto* p = static_cast<unsigned char*>(LargeAlloc(512 * 1024, 0, false));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xCD, 512 * 1024);
  ASSERT_TRUE(LargeFree(p));
  EXPECT_GE(GetLargeStats().cached, 1u);
  auto* q = static_cast<unsigned char*>(LargeAlloc(500 * 1024, 0, true));
  ASSERT_NE(q, nullptr);
  for (size_t i = 0; i < 500 * 1024; ++i) ASSERT_EQ(q[i], 0) << i;
  EXPECT_TRUE(LargeFree(q));
}

TEST(LargeAllocTest, CacheStaysWithinItsBudget) {
  for (int i = 0; i < 64; ++i) {
    void* p = LargeAlloc((size_t{1} << 20) + i * kPageSize, 0, false);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(LargeFree(p));
    LargeStats s = GetLargeStats();
    ASSERT_LE(s.cached, kLargeCacheEntries);
    ASSERT_LE(s.cached_bytes, GetConfig().large_cache_bytes);
  }
}

TEST(LargeAllocTest, AlignmentAboveAPage) {
  for (size_t align = kPageSize; align <= (size_t{4} << 20); align *= 2) {
    void* p = LargeAlloc(100000, align, false);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
    EXPECT_TRUE(LargeFree(p));
  }
}

TEST(LargeAllocTest, ReallocPreservesContents) {
  auto* p = static_cast<unsigned char*>(LargeAlloc(400000, 0, false));
  ASSERT_NE(p, nullptr);
  for (size_t i = 0; i < 400000; ++i) p[i] = static_cast<unsigned char>(i * 7);
  void* q = nullptr;
  ASSERT_EQ(LargeRealloc(p, 5 << 20, &q), LargeReallocResult::kDone);
  auto* g = static_cast<unsigned char*>(q);
  for (size_t i = 0; i < 400000; ++i) {
    ASSERT_EQ(g[i], static_cast<unsigned char>(i * 7));
  }
  EXPECT_GE(LargeUsableSize(g), size_t{5} << 20);
  void* r = nullptr;
  ASSERT_EQ(LargeRealloc(g, 300000, &r), LargeReallocResult::kDone);
  auto* s = static_cast<unsigned char*>(r);
  for (size_t i = 0; i < 300000; ++i) {
    ASSERT_EQ(s[i], static_cast<unsigned char>(i * 7));
  }
  int local;
  void* unused;
  EXPECT_EQ(LargeRealloc(&local, 300000, &unused),
            LargeReallocResult::kNotLarge);
  EXPECT_TRUE(LargeFree(s));
}

TEST(LargeAllocTest, ManyLiveBlocksGrowTheTable) {
  std::vector<void*> blocks;
  for (int i = 0; i < 3000; ++i) {
    void* p = LargeAlloc(300000, 0, false);
    ASSERT_NE(p, nullptr);
    blocks.push_back(p);
  }
  for (void* p : blocks) ASSERT_GE(LargeUsableSize(p), 300000u);
  for (size_t i = 0; i < blocks.size(); i += 2) ASSERT_TRUE(LargeFree(blocks[i]));
  for (size_t i = 1; i < blocks.size(); i += 2) {
    ASSERT_GE(LargeUsableSize(blocks[i]), 300000u);
    ASSERT_TRUE(LargeFree(blocks[i]));
  }
  EXPECT_EQ(GetLargeStats().live, 0u);
}

}  // namespace
}  // namespace hakmem::internal
