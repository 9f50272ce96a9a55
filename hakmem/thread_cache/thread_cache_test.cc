#include "hakmem/thread_cache/thread_cache.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/config/config.h"
#include "hakmem/error/error_log_for_tests.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/span.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/cache_check.h"
#include "hakmem/thread_cache/cache_sizing.h"
#include "hakmem/thread_cache/remote_free.h"

namespace hakmem::internal {
namespace {

// These tests are about slab blocks: none may be a guarded sample (a
// sample is a block outside every SuperSlab). Set before the
// configuration is read.
[[maybe_unused]] const bool kSamplingOff =
    setenv("HAKMEM_GUARD_RATE", "0", 1) == 0;

void* AllocOf(unsigned cls) { return CacheAlloc(cls, ClassBlockSize(cls)); }

void FreeBlock(void* p) {
  ASSERT_TRUE(InSuperSlab(p));
  CacheFree(p);
}

TEST(ThreadCacheTest, CacheStaysWithinCapacity) {
  constexpr unsigned kClass = 2;
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(AllocOf(kClass));
  EXPECT_EQ(CheckThreadCache(), nullptr);
  for (void* p : blocks) {
    FreeBlock(p);
    CacheBin bin(tls_cache, kClass);
    ASSERT_LE(bin.count(), bin.capacity);
  }
  EXPECT_EQ(CheckThreadCache(), nullptr);
  // HAKMEM_TCACHE_BYTES (64K by default) over 48-byte blocks, capped; the
  // refills of 5000 allocations may have grown it up to four times that.
  size_t bytes = GetConfig().thread_cache_bytes;
  EXPECT_GE(tls_cache.capacity[kClass],
            std::min<size_t>(kMaxCacheBlocks, bytes / 48));
  EXPECT_LE(tls_cache.capacity[kClass],
            std::min<size_t>(kMaxCacheBlocks, 4 * bytes / 48));
}

TEST(ThreadCacheTest, EmptySpansGoBackToTheSpanAllocator) {
  constexpr unsigned kClass = kNumTinyClasses + 12;  // 10 KiB blocks
  uint64_t before = GetSpanAllocatorStats().spans_live;
  std::vector<void*> blocks;
  for (int i = 0; i < 400; ++i) blocks.push_back(AllocOf(kClass));
  EXPECT_GT(GetSpanAllocatorStats().spans_live, before + 10);
  for (void* p : blocks) FreeBlock(p);
  EXPECT_EQ(CheckThreadCache(), nullptr);
  // Only the current span, what the cache keeps, and one spare stay.
  EXPECT_LE(GetSpanAllocatorStats().spans_live, before + 3);
}

// Spills give blocks back to their spans a run of one slab at a time: long
// runs when blocks die in allocation order, runs of one when they
// alternate between spans. Either way every span's free list and counts
// stay exact, and every block comes out again exactly once.
TEST(ThreadCacheTest, SpilledRunsKeepEverySpanExact) {
  constexpr unsigned kClass = 2;  // 48 B blocks: ~1,360 per one-slab span
  std::thread([] {
    for (bool alternate : {false, true}) {
      std::vector<void*> blocks;
      for (int i = 0; i < 6000; ++i) blocks.push_back(AllocOf(kClass));
      std::vector<void*> order;
      if (alternate) {
        // Interleave the first and second half: consecutive frees hit
        // different spans.
        for (size_t i = 0; i < blocks.size() / 2; ++i) {
          order.push_back(blocks[i]);
          order.push_back(blocks[blocks.size() / 2 + i]);
        }
      } else {
        order = blocks;
      }
      for (void* p : order) FreeBlock(p);
      ASSERT_EQ(CheckThreadCache(), nullptr) << "alternate=" << alternate;
      std::set<void*> again;
      for (size_t i = 0; i < blocks.size(); ++i) {
        void* p = AllocOf(kClass);
        ASSERT_TRUE(again.insert(p).second)
            << "handed out twice: " << p << " alternate=" << alternate;
      }
      ASSERT_EQ(CheckThreadCache(), nullptr);
      for (void* p : again) FreeBlock(p);
      ASSERT_EQ(CheckThreadCache(), nullptr);
    }
  }).join();
}

// Blocks freed into older spans are handed out again before the current
// span carves fresh ones: fresh blocks are fresh pages (page faults, RSS)
// when blocks are large, while the freed ones are already resident.
TEST(ThreadCacheTest, FreedBlocksAreReusedBeforeFreshOnesAreCarved) {
  constexpr unsigned kClass = kNumTinyClasses + 12;  // 10 KiB blocks
  // In a thread of its own: a fresh cache, whose cache has not grown.
  std::thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 40; ++i) blocks.push_back(AllocOf(kClass));
    // Empty the cache (what the last refill carved), without a refill.
    while (tls_cache.head[kClass] != nullptr) {
      blocks.push_back(AllocOf(kClass));
    }
    SpanMeta* current = tls_cache.spans[kClass].current;
    ASSERT_NE(current, nullptr);
    ASSERT_LT(current->carved.load(), current->capacity)
        << "the test needs a current span with room left to carve";
    std::set<void*> freed;
    for (int i = 0; i < 24; i += 2) {
      ASSERT_NE(SpanMetaOf(blocks[i]), current);
      freed.insert(blocks[i]);
      FreeBlock(blocks[i]);
    }
    for (size_t i = 0; i < freed.size(); ++i) {
      void* p = AllocOf(kClass);
      EXPECT_EQ(freed.count(p), 1u) << "allocation " << i << " carved " << p
                                    << " while freed blocks were waiting";
      blocks.push_back(p);
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (i >= 24 || i % 2 == 1) FreeBlock(blocks[i]);
    }
    EXPECT_EQ(CheckThreadCache(), nullptr);
  }).join();
}

// A class that keeps refilling gets a larger cache (up to four times
// HAKMEM_TCACHE_BYTES); once idle, a scavenge empties it and shrinks it
// back.
TEST(ThreadCacheTest, BusyCachesGrowAndIdleOnesShrinkBack) {
  constexpr unsigned kBusy = kNumTinyClasses + 20;  // 40 KiB blocks
  constexpr unsigned kOther = 3;
  size_t bytes = GetConfig().thread_cache_bytes;
  uint32_t base = std::max<uint32_t>(2, bytes / ClassBlockSize(kBusy));
  CacheFree(AllocOf(kBusy));  // sets the cache up
  ASSERT_EQ(tls_cache.capacity[kBusy], base);
  std::vector<void*> blocks;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 16; ++i) blocks.push_back(AllocOf(kBusy));
    for (void* p : blocks) FreeBlock(p);
    blocks.clear();
  }
  uint32_t grown = tls_cache.capacity[kBusy];
  EXPECT_GT(grown, base);
  EXPECT_LE(grown, std::max<uint32_t>(2, 4 * bytes / ClassBlockSize(kBusy)));
  EXPECT_EQ(CheckThreadCache(), nullptr);
  // Slow paths of another class only: two scavenges see kBusy idle. Each
  // round overflows kOther's cache, however far it has grown.
  for (uint32_t i = 0; i < 3 * 1024; ++i) {
    for (uint32_t j = 0; j <= tls_cache.capacity[kOther]; ++j) {
      blocks.push_back(AllocOf(kOther));
    }
    for (void* p : blocks) FreeBlock(p);
    blocks.clear();
    if (tls_cache.capacity[kBusy] == base) break;
  }
  EXPECT_EQ(tls_cache.capacity[kBusy], base);
  EXPECT_EQ(tls_cache.head[kBusy], nullptr);
  EXPECT_EQ(CheckThreadCache(), nullptr);
}

TEST(ThreadCacheTest, SpansOfAnExitedThreadAreAdoptedWithTheirRemoteFrees) {
  constexpr unsigned kClass = 7;
  std::vector<void*> blocks;
  std::set<void*> freed;
  std::atomic<bool> allocated{false}, remote_freed{false};
  std::thread owner([&] {
    for (int i = 0; i < 3000; ++i) blocks.push_back(AllocOf(kClass));
    allocated = true;
    while (!remote_freed) std::this_thread::yield();
  });
  while (!allocated) std::this_thread::yield();
  // Remote frees while the owner lives; it exits with its spans still
  // holding the odd blocks, so it abandons them.
  for (size_t i = 0; i < blocks.size(); i += 2) {
    FreeBlock(blocks[i]);
    freed.insert(blocks[i]);
  }
  remote_freed = true;
  owner.join();
  EXPECT_GE(GetSpanAllocatorStats().spans_abandoned, 1u);
  size_t reused = 0;
  std::thread([&] {
    std::vector<void*> got;
    for (int i = 0; i < 1000; ++i) got.push_back(AllocOf(kClass));
    reused = std::count_if(got.begin(), got.end(),
                           [&](void* p) { return freed.count(p) != 0; });
    EXPECT_EQ(CheckThreadCache(), nullptr);
    for (void* p : got) FreeBlock(p);
    EXPECT_EQ(CheckThreadCache(), nullptr);
  }).join();
  // The new thread adopted the spans, with the blocks freed into them.
  EXPECT_GT(reused, 0u);
  for (size_t i = 1; i < blocks.size(); i += 2) FreeBlock(blocks[i]);
  EXPECT_EQ(CheckThreadCache(), nullptr);
}

TEST(ThreadCacheTest, TheFirstRefillFromAnAdoptedSpanTakesItsWholeFreeList) {
  constexpr unsigned kClass = 11;  // 256 B blocks: a cache of 256 at most
  void* kept = nullptr;
  std::thread([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 256; ++i) blocks.push_back(AllocOf(kClass));
    kept = blocks[0];
    for (size_t i = 1; i < blocks.size(); ++i) FreeBlock(blocks[i]);
  }).join();
  // Its exit put the freed blocks back into their spans: the one that
  // still holds `kept` is abandoned with them on its free list.
  SpanMeta* span = SpanMetaOf(kept);
  ASSERT_EQ(span->owner.load(std::memory_order_relaxed), kNoOwner);
  const uint32_t inherited = span->free_count;
  ASSERT_GT(inherited, kMaxRefillBlocks);  // more than a refill cuts
  std::thread([&] {
    void* p = AllocOf(kClass);
    EXPECT_EQ(SpanMetaOf(p), span);  // adopted
    EXPECT_EQ(span->free_list, nullptr);
    CacheBin bin(tls_cache, kClass);
    ASSERT_LE(inherited, bin.capacity);
    EXPECT_EQ(bin.count(), inherited - 1);
    EXPECT_EQ(CheckThreadCache(), nullptr);
    FreeBlock(p);
    FreeBlock(kept);
    EXPECT_EQ(CheckThreadCache(), nullptr);
  }).join();
}

TEST(ThreadCacheTest, FreesIntoAbandonedSpansReleaseThemOnceEmpty) {
  constexpr unsigned kClass = kNumTinyClasses + 4;  // 2560-byte blocks
  const uint64_t live_before = GetSpanAllocatorStats().spans_live;
  std::vector<void*> blocks;
  std::thread([&] {
    for (int i = 0; i < 2000; ++i) blocks.push_back(AllocOf(kClass));
  }).join();
  EXPECT_GE(GetSpanAllocatorStats().spans_abandoned, 1u);
  // Each free goes back into its abandoned span (this thread owns none of
  // them), and spans go back as they empty: nothing waits for a sweep.
  for (void* p : blocks) FreeBlock(p);
  EXPECT_EQ(CheckThreadCache(), nullptr);
  SpanAllocatorStats after = GetSpanAllocatorStats();
  EXPECT_EQ(after.spans_abandoned, 0u);
  EXPECT_EQ(after.spans_live, live_before);
}

TEST(ThreadCacheTest, SpansEmptiedByRemoteFreesAreReleasedByScavenging) {
  // This thread fills spans of one class and never uses it again; another
  // thread frees every block. Only this thread can take those remote frees
  // in: its scavenging, on the slow paths of other work, must.
  constexpr unsigned kIdle = kNumTinyClasses + 8;  // 4 KiB blocks
  std::vector<void*> blocks;
  for (int i = 0; i < 400; ++i) blocks.push_back(AllocOf(kIdle));
  const uint64_t live = GetSpanAllocatorStats().spans_live;
  std::thread([&] {
    for (void* p : blocks) FreeBlock(p);
  }).join();
  EXPECT_EQ(GetSpanAllocatorStats().spans_live, live);  // nothing drained
  // Refills and spills of another class: thousands of slow paths (each
  // round overflows its cache, however far it has grown).
  constexpr unsigned kBusy = 2;
  std::vector<void*> churn;
  for (int round = 0; round < 200; ++round) {
    for (uint32_t i = 0; i <= 2 * tls_cache.capacity[kBusy]; ++i) {
      churn.push_back(AllocOf(kBusy));
    }
    for (void* p : churn) FreeBlock(p);
    churn.clear();
  }
  EXPECT_EQ(CheckThreadCache(), nullptr);
  // 400 blocks of 4 KiB filled 25 spans; the current and a spare may stay.
  EXPECT_LE(GetSpanAllocatorStats().spans_live + 20, live);
}

// The same for a thread whose only slow paths are remote frees (a main
// thread freeing what other threads made): larson's final RSS kept every
// span of the main thread's first allocations (their blocks were all freed
// by workers) until remote frees counted for scavenging.
TEST(ThreadCacheTest, RemoteFreesAloneScavengeTheFreeingThreadsSpans) {
  constexpr unsigned kIdle = kNumTinyClasses + 8;  // 4 KiB blocks
  std::vector<void*> mine;
  for (int i = 0; i < 400; ++i) mine.push_back(AllocOf(kIdle));
  const uint64_t live = GetSpanAllocatorStats().spans_live;
  std::vector<void*> theirs;
  std::thread([&] {
    for (void* p : mine) FreeBlock(p);
    for (int i = 0; i < 5000; ++i) theirs.push_back(AllocOf(2));
  }).join();
  // Thousands of frees into the exited thread's spans, nothing else.
  for (void* p : theirs) FreeBlock(p);
  EXPECT_EQ(CheckThreadCache(), nullptr);
  EXPECT_LE(GetSpanAllocatorStats().spans_live + 20, live);
}

// A second free in a row into one span of another thread begins a batch:
// the frees wait in the freeing thread (the span pinned meanwhile) and
// arrive as one chain, at kRemoteBatch or when pushed (hak_collect, a
// scavenge, a free into another span, the thread's exit). The first goes
// alone, as scattered remote frees do.
TEST(ThreadCacheTest, RemoteFreesInARowIntoOneSpanArriveAsOneChain) {
  constexpr unsigned kClass = 5;
  constexpr uint32_t kHeld = 10;
  constexpr uint32_t kAll = 1 + kHeld + kRemoteBatch;
  std::vector<void*> blocks;
  for (uint32_t i = 0; i < kAll; ++i) blocks.push_back(AllocOf(kClass));
  SpanMeta* span = SpanMetaOf(blocks[0]);
  for (void* p : blocks) ASSERT_EQ(SpanMetaOf(p), span);
  const uint32_t used = span->used;
  std::thread([&] {
    FreeBlock(blocks[0]);
    EXPECT_EQ(span->remote_head.load(), blocks[0]);
    for (uint32_t i = 1; i <= kHeld; ++i) FreeBlock(blocks[i]);
    EXPECT_EQ(tls_cache.pending_remote.count, kHeld);
    EXPECT_EQ(span->remote_head.load(), blocks[0]);
    EXPECT_TRUE(IsPinned(span));
    PushPendingRemoteFrees(tls_cache);
    EXPECT_EQ(tls_cache.pending_remote.count, 0u);
    EXPECT_FALSE(IsPinned(span));
    EXPECT_EQ(span->remote_head.load(), blocks[kHeld]);
    // Still in a row: a full batch goes by itself.
    for (uint32_t i = 1 + kHeld; i < kAll; ++i) FreeBlock(blocks[i]);
    EXPECT_EQ(tls_cache.pending_remote.count, 0u);
    EXPECT_FALSE(IsPinned(span));
    EXPECT_EQ(span->remote_head.load(), blocks[kAll - 1]);
  }).join();
  // All of them are on the stack, each link intact: the drain takes them
  // in and counts every one back.
  SpanDrainRemoteFrees(span);
  EXPECT_EQ(span->used, used - kAll);
  EXPECT_EQ(CheckThreadCache(), nullptr);
}

TEST(ThreadCacheTest, HeldBackRemoteFreesArriveWithAFreeElsewhereOrTheExit) {
  constexpr unsigned kA = 6, kB = 7;
  void* a[2] = {AllocOf(kA), AllocOf(kA)};
  void* b[2] = {AllocOf(kB), AllocOf(kB)};
  SpanMeta* span_a = SpanMetaOf(a[0]);
  SpanMeta* span_b = SpanMetaOf(b[0]);
  ASSERT_EQ(SpanMetaOf(a[1]), span_a);
  ASSERT_EQ(SpanMetaOf(b[1]), span_b);
  std::thread([&] {
    FreeBlock(a[0]);
    FreeBlock(a[1]);  // held back
    EXPECT_EQ(span_a->remote_head.load(), a[0]);
    FreeBlock(b[0]);  // another span: a's batch goes, then b[0]
    EXPECT_EQ(span_a->remote_head.load(), a[1]);
    EXPECT_EQ(span_b->remote_head.load(), b[0]);
    FreeBlock(b[1]);  // held back until the thread exits
    EXPECT_EQ(span_b->remote_head.load(), b[0]);
  }).join();
  EXPECT_EQ(span_b->remote_head.load(), b[1]);
  EXPECT_FALSE(IsPinned(span_a));
  EXPECT_FALSE(IsPinned(span_b));
  EXPECT_EQ(CheckThreadCache(), nullptr);
}

// The push writes the first held block's link late. If its owner freed it
// too meanwhile (a double free racing the remote one: here, its key word
// written as an owner list writes it), the push must not write into it,
// since the owner's list may hand it out again: it is reported, and the
// batch is left where it is.
TEST(ThreadCacheTest, ABlockItsOwnerFreedTooIsReportedWhenTheBatchIsPushed) {
  constexpr unsigned kClass = 4;
  void* r = AllocOf(kClass);
  void* p = AllocOf(kClass);
  void* q = AllocOf(kClass);
  SpanMeta* span = SpanMetaOf(r);
  ASSERT_EQ(SpanMetaOf(p), span);
  ASSERT_EQ(SpanMetaOf(q), span);
  auto* block = static_cast<struct FreeBlock*>(p);
  ErrorLog log;
  std::thread([&] {
    FreeBlock(r);  // alone
    FreeBlock(p);  // held back first: its link is written by the push
    FreeBlock(q);
    SetOwnerListLink(block, nullptr, FreeKey(block));
    uintptr_t link = block->link;
    PushPendingRemoteFrees(tls_cache);
    EXPECT_EQ(block->link, link);
  }).join();
  EXPECT_EQ(log.errors, std::vector<MemoryError>{MemoryError::kDoubleFree});
  EXPECT_EQ(span->remote_head.load(), r);
  EXPECT_FALSE(IsPinned(span));
}

}  // namespace
}  // namespace hakmem::internal
