#include "hakmem/heap/thread_heap.h"

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/config/config.h"
#include "hakmem/heap/heap_check.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/span_allocator.h"

namespace hakmem::internal {
namespace {

void FreeBlock(void* p) {
  ASSERT_TRUE(InSuperSlab(p));
  HeapFree(p);
}

TEST(ThreadHeapTest, CacheStaysWithinCapacity) {
  constexpr unsigned kClass = 2;
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(HeapAlloc(kClass));
  EXPECT_EQ(CheckThreadHeap(), nullptr);
  for (void* p : blocks) {
    FreeBlock(p);
    CacheBin bin(tls_heap, kClass);
    ASSERT_LE(bin.count(), bin.capacity);
  }
  EXPECT_EQ(CheckThreadHeap(), nullptr);
  // HAKMEM_TCACHE_BYTES (64K by default) over 48-byte blocks, capped.
  EXPECT_EQ(tls_heap.cache_capacity[kClass],
            std::min<size_t>(256, GetConfig().thread_cache_bytes / 48));
}

TEST(ThreadHeapTest, EmptySpansGoBackToTheSpanAllocator) {
  constexpr unsigned kClass = kNumTinyClasses + 12;  // 16 KiB blocks
  uint64_t before = GetSpanAllocatorStats().spans_live;
  std::vector<void*> blocks;
  for (int i = 0; i < 400; ++i) blocks.push_back(HeapAlloc(kClass));
  EXPECT_GT(GetSpanAllocatorStats().spans_live, before + 10);
  for (void* p : blocks) FreeBlock(p);
  EXPECT_EQ(CheckThreadHeap(), nullptr);
  // Only the current span, what the cache keeps, and one spare stay.
  EXPECT_LE(GetSpanAllocatorStats().spans_live, before + 3);
}

TEST(ThreadHeapTest, SpansOfAnExitedThreadAreAdoptedWithTheirRemoteFrees) {
  constexpr unsigned kClass = 7;
  std::vector<void*> blocks;
  std::thread([&] {
    for (int i = 0; i < 3000; ++i) blocks.push_back(HeapAlloc(kClass));
  }).join();
  EXPECT_GE(GetSpanAllocatorStats().spans_abandoned, 1u);
  // Frees from this thread go to the abandoned spans' remote stacks.
  std::set<void*> freed;
  for (size_t i = 0; i < blocks.size(); i += 2) {
    FreeBlock(blocks[i]);
    freed.insert(blocks[i]);
  }
  size_t reused = 0;
  std::thread([&] {
    std::vector<void*> got;
    for (int i = 0; i < 1000; ++i) got.push_back(HeapAlloc(kClass));
    reused = std::count_if(got.begin(), got.end(),
                           [&](void* p) { return freed.count(p) != 0; });
    EXPECT_EQ(CheckThreadHeap(), nullptr);
    for (void* p : got) FreeBlock(p);
    EXPECT_EQ(CheckThreadHeap(), nullptr);
  }).join();
  // The new thread adopted the spans and drained the remote frees.
  EXPECT_GT(reused, 0u);
  for (size_t i = 1; i < blocks.size(); i += 2) FreeBlock(blocks[i]);
}

TEST(ThreadHeapTest, AbandonedSpansThatEmptyAreReclaimed) {
  constexpr unsigned kClass = kNumTinyClasses + 4;  // 2560-byte blocks
  std::vector<void*> blocks;
  std::thread([&] {
    for (int i = 0; i < 2000; ++i) blocks.push_back(HeapAlloc(kClass));
  }).join();
  for (void* p : blocks) FreeBlock(p);
  uint64_t abandoned = GetSpanAllocatorStats().spans_abandoned;
  EXPECT_GE(abandoned, 1u);
  // Needing more memory than the free slabs hold sweeps abandoned spans.
  std::vector<SlabMeta*> spans;
  while (GetSpanAllocatorStats().spans_abandoned != 0 && spans.size() < 4096) {
    SlabMeta* m = AcquireSpan(0, 12345);
    ASSERT_NE(m, nullptr);
    spans.push_back(m);
  }
  EXPECT_EQ(GetSpanAllocatorStats().spans_abandoned, 0u);
  for (SlabMeta* m : spans) ReleaseSpan(m);
}

}  // namespace
}  // namespace hakmem::internal
