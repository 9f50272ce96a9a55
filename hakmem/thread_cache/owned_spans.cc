#include "hakmem/thread_cache/owned_spans.h"

#include "hakmem/superslab/span.h"
#include "hakmem/superslab/span_allocator.h"
#include "hakmem/thread_cache/counters.h"

namespace hakmem::internal {
namespace {

void Unlink(OwnedSpans& o, SpanMeta* m) {
  if (m->list == SlabList::kAvailable) {
    o.available.Remove(m);
  } else if (m->list == SlabList::kFull) {
    o.full.Remove(m);
  }
}

}  // namespace

SpanMeta* NextSpan(ThreadCache& cache, unsigned cls) {
  OwnedSpans& o = cache.spans[cls];
  if (SpanMeta* m = o.available.head) {
    Unlink(o, m);
    HAK_COUNT(Counter::kSpanFromAvailable);
    return m;
  }
  if (SpanMeta* m = o.spare) {
    o.spare = nullptr;
    HAK_COUNT(Counter::kSpanFromAvailable);
    return m;
  }
  for (int i = 0; i < kSpansScannedPerRefill && o.full.head != nullptr; ++i) {
    SpanMeta* m = o.full.head;
    Unlink(o, m);
    if (m->remote_head.load(std::memory_order_relaxed) != nullptr) {
      HAK_COUNT(Counter::kSpanFromFull);
      return m;
    }
    o.full.PushBack(m);
  }
  if (SpanMeta* m = AdoptSpan(cls, cache.token)) {
    HAK_COUNT(Counter::kSpanAdopted);
    return m;
  }
  HAK_COUNT(Counter::kSpanNew);
  bool mapped;
  SpanMeta* m = AcquireSpan(cls, cache.token, &mapped);
  if (mapped) HAK_COUNT(Counter::kSpanNewSuperSlab);
  return m;
}

// A freed block is resident memory already; a fresh one is a fresh page
// when blocks are large. Carving first made pool-sized workloads touch 1.5x
// the pages, at 0.7x the speed (RESULTS.md).
SpanMeta* PreferFreedBlocks(OwnedSpans& o) {
  SpanMeta* m = o.current;
  SpanMeta* reuse = o.available.head;
  if (m->free_list != nullptr ||
      m->remote_head.load(std::memory_order_relaxed) != nullptr ||
      reuse == nullptr || reuse->free_list == nullptr) {
    return m;
  }
  Unlink(o, reuse);
  o.available.PushBack(m);
  o.current = reuse;
  return reuse;
}

void ReturnedToSpan(ThreadCache& cache, SpanMeta* m) {
  OwnedSpans& o = cache.spans[m->size_class];
  if (m == o.current) return;
  if (m->used == 0) {
    Unlink(o, m);
    if (o.spare == nullptr) {
      o.spare = m;
      return;
    }
    ReleaseSpan(m);
    HAK_COUNT(Counter::kSpanReleased);
  } else if (m->list == SlabList::kFull) {
    Unlink(o, m);
    o.available.PushFront(m);
  }
}

// A span whose owner no longer allocates from its class is drained nowhere
// else, so without this it could never empty.
void ReclaimRemoteFrees(OwnedSpans& o, uint32_t limit) {
  auto reclaim = [&o, limit](auto& list) {
    SpanMeta* m = list.head;
    for (uint32_t seen = 0; m != nullptr && seen < limit; ++seen) {
      SpanMeta* next = m->next;
      SpanDrainRemoteFrees(m);
      if (m->used == 0) {
        Unlink(o, m);
        ReleaseSpan(m);
        HAK_COUNT(Counter::kSpanReleased);
      } else if (m->list == SlabList::kFull && m->free_list != nullptr) {
        Unlink(o, m);
        o.available.PushFront(m);
      }
      m = next;
    }
    if (m != nullptr) list.RotateTo(m);
  };
  reclaim(o.available);
  reclaim(o.full);
}

void ReleaseSpare(OwnedSpans& o) {
  if (o.spare != nullptr) {
    ReleaseSpan(o.spare);
    o.spare = nullptr;
  }
}

void DisownSpans(OwnedSpans& o) {
  ReleaseSpare(o);
  if (o.current != nullptr) {
    SpanMeta* m = o.current;
    o.current = nullptr;
    o.available.PushFront(m);
  }
  auto disown = [](auto& list) {
    while (SpanMeta* m = list.PopFront()) {
      SpanDrainRemoteFrees(m);
      if (m->used == 0) {
        ReleaseSpan(m);
      } else {
        AbandonSpan(m);
      }
    }
  };
  disown(o.available);
  disown(o.full);
}

}  // namespace hakmem::internal
