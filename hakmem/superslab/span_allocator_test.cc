#include "hakmem/superslab/span_allocator.h"

#include <algorithm>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/config/config.h"
#include "hakmem/size_class/size_class.h"
#include "hakmem/superslab/chunk_map.h"
#include "hakmem/superslab/span.h"

namespace hakmem::internal {
namespace {

constexpr uint64_t kOwner = 42;

TEST(SpanAllocatorTest, SpanGeometryMatchesItsClass) {
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    SpanMeta* m = AcquireSpan(cls, kOwner);
    ASSERT_NE(m, nullptr);
    const SizeClassInfo& info = ClassInfo(cls);
    EXPECT_EQ(m->size_class, cls);
    EXPECT_EQ(m->block_size, info.block_size);
    EXPECT_EQ(m->span_slabs, info.span_slabs);
    EXPECT_EQ(m->owner.load(), kOwner);
    EXPECT_EQ(m->used, 0u);
    EXPECT_EQ(m->carved.load(), 0u);
    EXPECT_TRUE(InSuperSlab(reinterpret_cast<void*>(m->start)));
    uintptr_t end = m->start + uintptr_t{m->capacity} * m->block_size;
    uintptr_t span_end = reinterpret_cast<uintptr_t>(SuperSlabOf(m)) +
                         (SlabIndexOf(m) + m->span_slabs) * kSlabSize;
    EXPECT_LE(end, span_end);
    EXPECT_GT(end + m->block_size, span_end);
    EXPECT_EQ(m->start % 16, 0u);
    // Every slab of the span leads back to the head; pointers validate only
    // once carved.
    SetCarved(m, m->capacity);
    for (uint32_t i = 0; i < m->capacity; i += 7) {
      void* block = reinterpret_cast<void*>(m->start + i * m->block_size);
      ASSERT_EQ(SpanMetaOf(block), m);
      ASSERT_TRUE(IsCarvedBlockStart(m, block));
      if (m->block_size > 16) {
        ASSERT_FALSE(IsCarvedBlockStart(m, static_cast<char*>(block) + 16));
      }
    }
    SetCarved(m, 0);
    EXPECT_FALSE(IsCarvedBlockStart(m, reinterpret_cast<void*>(m->start)));
    ReleaseSpan(m);
  }
}

// IsCarvedBlockStart against the plain definition, for every class, at
// every address from before the span's start to past its end (every byte
// for tiny classes, every 8th for pool ones), and at every 16th address of
// its SuperSlab (what the free path can pass it), with part of the span
// carved.
TEST(SpanAllocatorTest, BlockStartCheckIsExact) {
  for (unsigned cls = 0; cls < kNumClasses; ++cls) {
    SpanMeta* m = AcquireSpan(cls, kOwner);
    ASSERT_NE(m, nullptr);
    uint32_t carved = m->capacity / 2 + 1;
    SetCarved(m, carved);
    uintptr_t end = m->start + uintptr_t{m->capacity} * m->block_size;
    auto check = [&](uintptr_t a) {
      uint64_t offset = a - m->start;
      bool expected = a >= m->start && offset % m->block_size == 0 &&
                      offset / m->block_size < carved;
      ASSERT_EQ(IsCarvedBlockStart(m, reinterpret_cast<void*>(a)), expected)
          << "class " << cls << " offset " << static_cast<int64_t>(offset);
      // The slab of `a`, if in the span, answers alike (its tails mirror
      // the head: the free path asks the block's own slab).
      SpanMeta* own = MirroredSpanMetaOf(reinterpret_cast<void*>(a));
      if (own->head == m) {
        ASSERT_EQ(IsCarvedBlockStart(own, reinterpret_cast<void*>(a)), expected)
            << "class " << cls << " offset " << static_cast<int64_t>(offset)
            << " asked of slab " << SlabIndexOf(own);
      }
    };
    uintptr_t step = cls < kNumTinyClasses ? 1 : 8;
    for (uintptr_t a = m->start - 4096; a < end + 4096; a += step) {
      ASSERT_NO_FATAL_FAILURE(check(a));
    }
    uintptr_t superslab = reinterpret_cast<uintptr_t>(SuperSlabOf(m));
    for (uintptr_t a = superslab; a < superslab + kSuperSlabSize; a += 16) {
      ASSERT_NO_FATAL_FAILURE(check(a));
    }
    // The limits of the contract: 2^39 bytes either side of the start.
    uintptr_t far = (uintptr_t{1} << 39) - m->block_size;
    far -= far % m->block_size;
    EXPECT_FALSE(
        IsCarvedBlockStart(m, reinterpret_cast<void*>(m->start - far)));
    EXPECT_FALSE(
        IsCarvedBlockStart(m, reinterpret_cast<void*>(m->start + far)));
    SetCarved(m, 0);
    ReleaseSpan(m);
  }
}

TEST(SpanAllocatorTest, SpansNeverOverlapAndSuperSlabsAreShared) {
  std::vector<SpanMeta*> spans;
  std::set<SuperSlab*> superslabs;
  for (int round = 0; round < 3; ++round) {
    for (unsigned cls = 0; cls < kNumClasses; cls += 5) {
      SpanMeta* m = AcquireSpan(cls, kOwner);
      ASSERT_NE(m, nullptr);
      spans.push_back(m);
      superslabs.insert(SuperSlabOf(m));
    }
  }
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  for (SpanMeta* m : spans) {
    ranges.emplace_back(m->start, m->start + m->capacity * m->block_size);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_LE(ranges[i - 1].second, ranges[i].first);
  }
  // Different classes share SuperSlabs.
  EXPECT_LT(superslabs.size(), spans.size());
  for (SpanMeta* m : spans) ReleaseSpan(m);
  SpanAllocatorStats stats = GetSpanAllocatorStats();
  EXPECT_EQ(stats.spans_live, 0u);
  EXPECT_EQ(stats.superslabs_live, 0u);
  // Empty SuperSlabs are unmapped beyond twice the cache (hysteresis).
  EXPECT_LE(stats.superslabs_cached, 2 * GetConfig().cached_empty_superslabs);
}

TEST(SpanAllocatorTest, AbandonedSpansAreAdoptedByClass) {
  SpanMeta* m = AcquireSpan(3, kOwner);
  ASSERT_NE(m, nullptr);
  m->used = 1;
  AbandonSpan(m);
  EXPECT_EQ(m->owner.load(), kNoOwner);
  EXPECT_EQ(AdoptSpan(4, kOwner + 1), nullptr);
  EXPECT_EQ(AdoptSpan(3, kOwner + 1), m);
  EXPECT_EQ(m->owner.load(), kOwner + 1);
  EXPECT_EQ(AdoptSpan(3, kOwner + 1), nullptr);
  m->used = 0;
  ReleaseSpan(m);
}

// A footprint that swings by more than the decommit budget raises it (so
// that the swings stop costing madvise calls), up to twice
// HAKMEM_DECOMMIT_BYTES; a footprint that only shrinks does not.
TEST(SpanAllocatorTest, DecommitBudgetAdaptsToSwings) {
  const uint64_t configured = GetConfig().decommit_bytes;
  ASSERT_GT(configured, 0u);
  CollectSpans(true);
  // Single-slab spans worth twice the largest budget; every 16th stays
  // live throughout, so that no SuperSlab empties and the swings happen in
  // the same SuperSlabs (an empty one would be unmapped instead).
  const size_t count = 8 * configured / kSlabSize;
  std::vector<SpanMeta*> spans;
  for (size_t i = 0; i < count; ++i) {
    spans.push_back(AcquireSpan(0, kOwner));
    ASSERT_NE(spans.back(), nullptr);
  }
  auto shrink = [&] {
    for (size_t i = 0; i < count; ++i) {
      if (i % 16 != 0) ReleaseSpan(spans[i]);
    }
  };
  auto grow = [&] {
    for (size_t i = 0; i < count; ++i) {
      if (i % 16 != 0) spans[i] = AcquireSpan(0, kOwner);
      ASSERT_NE(spans[i], nullptr);
    }
  };
  shrink();  // Decommits beyond the budget, which stays as configured.
  SpanAllocatorStats stats = GetSpanAllocatorStats();
  EXPECT_EQ(stats.decommit_budget, configured);
  EXPECT_LE(stats.dirty_bytes, configured);
  uint64_t budget = stats.decommit_budget;
  for (int i = 0; i < 4; ++i) {
    grow();  // Carves decommitted slabs again...
    if (HasFatalFailure()) return;
    shrink();  // ...so this swing doubles the budget.
    stats = GetSpanAllocatorStats();
    EXPECT_EQ(stats.decommit_budget, std::min(2 * budget, 2 * configured));
    EXPECT_LE(stats.dirty_bytes, stats.decommit_budget);
    budget = stats.decommit_budget;
  }
  for (size_t i = 0; i < count; i += 16) ReleaseSpan(spans[i]);
  CollectSpans(true);
}

TEST(SpanAllocatorTest, ForeignPointersAreNotInSuperSlabs) {
  int on_stack = 0;
  static int in_data = 0;
  EXPECT_FALSE(InSuperSlab(&on_stack));
  EXPECT_FALSE(InSuperSlab(&in_data));
  EXPECT_FALSE(InSuperSlab(nullptr));
  EXPECT_FALSE(InSuperSlab(reinterpret_cast<void*>(~uintptr_t{0} - 15)));
}

}  // namespace
}  // namespace hakmem::internal
